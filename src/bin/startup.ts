#!/usr/bin/env node
// npm run bench:startup: process start → PUBACK → exit for the compiled bin, the lesson path and MQTT.js's `mqtt pub`.
import { exitOnSignals } from '../broker/children';
import { runStartup } from '../bench/startup';
import { EXIT } from '../cli/errors';
import { processIo, type Io } from '../cli/io';
import { runMain } from '../cli/main';
import { DEFAULT_MESSAGE, DEFAULT_TOPIC, parseStartup } from '../cli/options';
import { COMMANDS } from '../cli/options/parse';

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const parsed = parseStartup(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  await runStartup(parsed.options.runs, { topic: DEFAULT_TOPIC, message: DEFAULT_MESSAGE }, (line) => io.out.write(`${line}\n`));
  return EXIT.ok;
}

if (require.main === module) {
  exitOnSignals();
  runMain(COMMANDS.startup, (argv) => main(argv));
}
