#!/usr/bin/env node
// npm start: the QoS lab. No setup: it starts its own broker on loopback.
import { EXIT } from './cli/errors';
import { runMain } from './cli/main';
import { parseLab } from './cli/options/lab';
import { useColor } from './mqtt/format';
import { runLab } from './lab/run-lab';
import { COMMANDS } from './cli/options/parse';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseLab(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  const style = { verbose: options.display.verbose, color: useColor(options.display.color, process.stdout) };
  await runLab(options, style, (line) => process.stdout.write(`${line}\n`));
  return EXIT.ok;
}

if (require.main === module) runMain(COMMANDS.lab, main);
