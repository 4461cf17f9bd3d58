#!/usr/bin/env node
// npm run bench:compare: this bench against the C client (mosquitto_pub / mosquitto_sub), ratio per QoS.
import { exitOnSignals } from '../broker/children';
import { runCompare } from '../bench/compare';
import { EXIT } from '../cli/errors';
import { processIo, type Io } from '../cli/io';
import { runMain } from '../cli/main';
import { parseCompare } from '../cli/options';
import { COMMANDS } from '../cli/options/parse';

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const parsed = parseCompare(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  await runCompare(parsed.options, (line) => io.out.write(`${line}\n`));
  return EXIT.ok;
}

if (require.main === module) {
  exitOnSignals();
  runMain(COMMANDS.compare, (argv) => main(argv));
}
