#!/usr/bin/env node
// npm run load: the subscriber under 20,000 msg/s (by default) for 60 s;
// prints received, lost and memory at start and end. A benchmark, never a test.
import { mosquittoPath } from './broker/mosquitto';
import { EXIT } from './cli/errors';
import { runMain } from './cli/main';
import { parseLoad } from './cli/options/load';
import { runLoad } from './bench/load';
import { COMMANDS } from './cli/options/parse';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseLoad(argv, mosquittoPath() !== null);
  if (parsed.kind === 'shown') return EXIT.ok;
  await runLoad(parsed.options, (line) => process.stdout.write(`${line}\n`));
  return EXIT.ok;
}

if (require.main === module) runMain(COMMANDS.load, main);
