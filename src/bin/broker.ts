#!/usr/bin/env node
// npm run broker: a broker that prints the broker's side of every flow, so a
// downgrade (PUBLISH q1 in, PUBLISH q0 out) is visible here too. The embedded
// aedes by default; --engine mosquitto runs mosquitto behind the same packet tap.
import { EXIT } from '../cli/errors';
import { runMain } from '../cli/main';
import { parseBroker } from '../cli/options/broker';
import { COMMANDS } from '../cli/options/parse';
import { serveBroker } from '../cli/serve-broker';
import { SIGNAL_EXIT } from '../cli/signals';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseBroker(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  // 130 or 143, as the shell of `npm run broker` sees anyway: npm gets the terminal's SIGINT too.
  return SIGNAL_EXIT[await serveBroker(parsed.options)];
}

if (require.main === module) runMain(COMMANDS.broker, main);
