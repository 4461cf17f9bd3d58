#!/usr/bin/env node
// npm run web (npm start -- --web): the QoS lab in a browser, served on loopback.
import { EXIT } from '../cli/errors';
import { processIo, type Io } from '../cli/io';
import { runMain } from '../cli/main';
import { parseWeb, WEB_COMMAND } from '../cli/options/web';
import { serveWeb } from '../cli/web';

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const parsed = parseWeb(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  return serveWeb(parsed.options, io);
}

if (require.main === module) runMain(WEB_COMMAND, main);
