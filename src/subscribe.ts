#!/usr/bin/env node
// subscribe-with-qos: subscribe at a QoS level, print every packet, and say
// at which QoS each message really arrived and why.
import { EXIT } from './cli/errors';
import { processIo, type Io } from './cli/io';
import { runMain } from './cli/main';
import { parseSubscribe, TOOL_NAMES } from './cli/options/pair';
import { receiver } from './cli/receiver';
import { runTool } from './cli/session';

/** `io` carries every line the run writes: tests pass their own streams and read what a user would see. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const parsed = parseSubscribe(argv, io.env);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  return runTool(options, 'subscriber', (printer) => receiver(options, printer), io);
}

if (require.main === module) runMain(TOOL_NAMES.subscribe, main);
