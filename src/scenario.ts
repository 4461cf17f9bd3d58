#!/usr/bin/env node
// npm run scenario -- offline: persistent sessions, shown on the wire.
import { EXIT } from './cli/errors';
import { runMain } from './cli/main';
import { parseScenario } from './cli/options/faults';
import { runOfflineScenario } from './faults/scenario';
import { useColor } from './mqtt/format';
import { COMMANDS } from './cli/options/parse';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseScenario(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { engine, display } = parsed.options;
  const style = { verbose: display.verbose, color: useColor(display.color, process.stdout) };
  await runOfflineScenario(engine, style, (line) => process.stdout.write(`${line}\n`));
  return EXIT.ok;
}

if (require.main === module) runMain(COMMANDS.scenario, main);
