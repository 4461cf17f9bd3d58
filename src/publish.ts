#!/usr/bin/env node
// publish-with-qos: publish at a QoS level and print every packet of the flow.
import { EXIT } from './cli/errors';
import { processIo, type Io } from './cli/io';
import { runMain } from './cli/main';
import { inputLines, readInput } from './cli/options/input';
import { parsePublish, TOOL_NAMES } from './cli/options/pair';
import { runTool } from './cli/session';
import { publishAll, publishEach } from './mqtt/publisher';

/** `io` carries every line the run writes: tests pass their own streams and read what a user would see. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const parsed = parsePublish(argv, io.env);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  const { source } = options;
  const input = io.in ?? process.stdin;
  if (source.kind === 'lines') {
    try {
      return await runTool(options, 'publisher', () => ({ work: (conn) => publishEach(conn, options, inputLines(input, source.limit, source.why)) }), io);
    } finally {
      // Ended before stdin did (Ctrl-C, an error): an open stdin must not hold the process.
      input.destroy();
    }
  }
  // -s reads all of stdin before connecting, as mosquitto_pub does.
  const message = source.kind === 'given' ? source.message : await readInput(input, source.flag, source.limit, source.why);
  return runTool(options, 'publisher', () => ({ work: (conn) => publishAll(conn, { ...options, message }) }), io);
}

if (require.main === module) runMain(TOOL_NAMES.publish, main);
