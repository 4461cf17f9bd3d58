#!/usr/bin/env node
// publish-with-qos: publish at a QoS level and print every packet of the flow.
import { EXIT } from './cli/errors';
import { runMain } from './cli/main';
import { parsePublish, TOOL_NAMES } from './cli/options/pair';
import { runTool } from './cli/session';
import { publishAll } from './mqtt/publisher';

export async function main(argv: string[]): Promise<number> {
  const parsed = parsePublish(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  return runTool(options, 'publisher', () => ({ work: (conn) => publishAll(conn, options) }));
}

if (require.main === module) runMain(TOOL_NAMES.publish, main);
