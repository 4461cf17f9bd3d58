#!/usr/bin/env node
// npm run chaos: does each QoS level keep its promise when connections keep breaking?
import { EXIT } from './cli/errors';
import { runMain } from './cli/main';
import { parseChaos } from './cli/options/faults';
import { runChaos } from './faults/chaos';
import { COMMANDS } from './cli/options/parse';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseChaos(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const report = await runChaos(parsed.options, (line) => process.stdout.write(`${line}\n`));
  // A broken promise is a finding, printed above; the exit code lets a script notice it.
  return report.runs.every((run) => run.verdict.kept) ? EXIT.ok : EXIT.protocol;
}

if (require.main === module) runMain(COMMANDS.chaos, main);
