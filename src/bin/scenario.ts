#!/usr/bin/env node
// npm run scenario -- offline: persistent sessions, shown on the wire.
import { exitOnSignals } from '../broker/children';
import { EXIT } from '../cli/errors';
import { processIo, type Io } from '../cli/io';
import { runMain } from '../cli/main';
import { parseScenario, type ScenarioName } from '../cli/options/faults';
import { runOfflineScenario } from '../scenario/offline';
import { LIMITS, type Limits } from '../mqtt/wait';
import { useColor } from '../mqtt/format';
import { COMMANDS } from '../cli/options/parse';

/** Each name the parser accepts, and the run it stands for. */
const SCENARIO_RUNS: Record<ScenarioName, typeof runOfflineScenario> = { offline: runOfflineScenario };

/** `limits` are the bounded waits' lengths; tests pass short ones. */
export async function main(argv: string[], io: Io = processIo(), limits: Limits = LIMITS): Promise<number> {
  const parsed = parseScenario(argv, io.env);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { name, engine, broker, connection, display } = parsed.options;
  const style = { verbose: display.verbose, color: useColor(display.color, io.out, io.env) };
  await SCENARIO_RUNS[name](broker ? { url: broker, connection } : { engine, connection }, style, (line) => io.out.write(`${line}\n`), limits);
  return EXIT.ok;
}

if (require.main === module) {
  exitOnSignals();
  runMain(COMMANDS.scenario, (argv) => main(argv));
}
