#!/usr/bin/env node
// npm start: the QoS lab. No setup: it starts its own broker on loopback.
import { EXIT } from './cli/errors';
import { processIo, type Io } from './cli/io';
import { runMain } from './cli/main';
import { parseLab } from './cli/options/lab';
import { useColor } from './mqtt/format';
import { labVerdict, runLab } from './lab/run-lab';
import { COMMANDS } from './cli/options/parse';

/** Everything goes to io.out; a broker that broke a rule or never answered is thrown (one line on stderr, exit 6 or 4) after the full result. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const parsed = parseLab(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  const style = { verbose: options.display.verbose, color: useColor(options.display.color, io.out, io.env) };
  const pairs = await runLab(options, style, (line) => io.out.write(`${line}\n`));
  const verdict = labVerdict(pairs, options.lab.protocol);
  if (verdict) throw verdict;
  return EXIT.ok;
}

if (require.main === module) runMain(COMMANDS.lab, main);
