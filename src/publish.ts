#!/usr/bin/env node
// publish-with-qos: publish at a QoS level and print every packet of the flow.
import { runMain } from './cli/main';
import { parsePublish, TOOL_NAMES } from './cli/options';
import { makePrinter } from './cli/printer';
import { tracedPrinter } from './lab/trace';
import { withConnection } from './cli/session';
import { EXIT } from './cli/errors';
import { publishAll } from './mqtt/publisher';

export async function main(argv: string[]): Promise<number> {
  const parsed = parsePublish(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  const traced = tracedPrinter(makePrinter(options.output), options.output.json, 'publisher', options.connection.protocol);
  const { printer } = traced;
  return withConnection(options.connection, printer, (conn) => publishAll(conn, options)).finally(traced.close);
}

if (require.main === module) runMain(TOOL_NAMES.publish, main);
