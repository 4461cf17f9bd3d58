#!/usr/bin/env node
// npm run broker: a broker that prints the broker's side of every flow, so a
// downgrade (PUBLISH q1 in, PUBLISH q0 out) is visible here too. The embedded
// aedes by default; --engine mosquitto runs mosquitto behind the same packet tap.
import { EXIT } from '../cli/errors';
import { runMain } from '../cli/main';
import { parseBroker } from '../cli/options/broker';
import { COMMANDS } from '../cli/options/parse';
import { serveBroker } from '../cli/serve-broker';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseBroker(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  await serveBroker(parsed.options);
  return EXIT.ok;
}

if (require.main === module) runMain(COMMANDS.broker, main);
