#!/usr/bin/env node
// publish-with-qos: publish at a QoS level and print every packet of the flow.
import { runMain } from './cli/main';
import { parsePublish, TOOL_NAMES } from './cli/options';
import { makePrinter } from './cli/printer';
import { withConnection } from './cli/session';
import { EXIT } from './cli/errors';
import { publishAll } from './mqtt/publisher';
import { startFaultLink } from './faults/fault-link';

export async function main(argv: string[]): Promise<number> {
  const parsed = parsePublish(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  const printer = makePrinter(options.output);
  const fault = options.fault ? await startFaultLink(options.connection, options.fault, printer.note) : undefined;
  try {
    return await withConnection(fault?.connection ?? options.connection, printer, (conn) => publishAll(conn, options), fault?.prepare);
  } finally {
    await fault?.close();
  }
}

if (require.main === module) runMain(TOOL_NAMES.publish, main);
