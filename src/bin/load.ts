#!/usr/bin/env node
// npm run load: the subscriber under 20,000 msg/s (by default) for 60 s;
// prints received, lost and memory at start and end. A benchmark, never a test.
import { exitOnSignals } from '../broker/children';
import { mosquittoPath } from '../broker/mosquitto';
import { EXIT, type ExitCode } from '../cli/errors';
import { processIo, type Io } from '../cli/io';
import { runMain } from '../cli/main';
import { parseLoad } from '../cli/options/load';
import { loadOutcome, runLoad, type LoadOutcome } from '../bench/load';
import { LIMITS, type Limits } from '../mqtt/wait';
import { COMMANDS } from '../cli/options/parse';

/** 0 when the publisher got every acknowledgement, 4 when it gave up waiting for some (loss is a finding, printed). */
const LOAD_EXIT: Record<LoadOutcome, ExitCode> = { acked: EXIT.ok, unacked: EXIT.timeout };

/** `limits` are the bounded waits' lengths; tests pass short ones. */
export async function main(argv: string[], io: Io = processIo(), limits: Limits = LIMITS): Promise<number> {
  const parsed = parseLoad(argv, mosquittoPath() !== null);
  if (parsed.kind === 'shown') return EXIT.ok;
  return LOAD_EXIT[loadOutcome(await runLoad(parsed.options, (line) => io.out.write(`${line}\n`), limits))];
}

if (require.main === module) {
  exitOnSignals();
  runMain(COMMANDS.load, (argv) => main(argv));
}
