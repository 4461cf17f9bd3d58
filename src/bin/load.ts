#!/usr/bin/env node
// npm run load: the subscriber under 20,000 msg/s (by default) for 60 s;
// prints received, lost and memory at start and end. A benchmark, never a test.
import { exitOnSignals } from '../broker/children';
import { mosquittoPath } from '../broker/mosquitto';
import { EXIT } from '../cli/errors';
import { processIo, type Io } from '../cli/io';
import { runMain } from '../cli/main';
import { parseLoad } from '../cli/options/load';
import { loadExit, runLoad } from '../bench/load';
import { LIMITS, type Limits } from '../bench/bounded';
import { COMMANDS } from '../cli/options/parse';

/** `limits` are the bounded waits' lengths; tests pass short ones. */
export async function main(argv: string[], io: Io = processIo(), limits: Limits = LIMITS): Promise<number> {
  const parsed = parseLoad(argv, mosquittoPath() !== null);
  if (parsed.kind === 'shown') return EXIT.ok;
  return loadExit(await runLoad(parsed.options, (line) => io.out.write(`${line}\n`), limits));
}

if (require.main === module) {
  exitOnSignals();
  runMain(COMMANDS.load, (argv) => main(argv));
}
