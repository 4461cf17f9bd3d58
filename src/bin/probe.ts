#!/usr/bin/env node
// mqtt-qos-probe (npm run probe): the broker report card.
import { exitOnSignals } from '../broker/children';
import { processIo, type Io } from '../cli/io';
import { runMain } from '../cli/main';
import { COMMANDS } from '../cli/options/parse';
import { parseProbe } from '../cli/options/probe';
import { probeMain } from '../cli/probe';
import { PROBE_LIMITS, type ProbeLimits } from '../probe/probe';

/** `limits` are the bounded waits' lengths; tests pass short ones. */
export async function main(argv: string[], io: Io = processIo(), limits: ProbeLimits = PROBE_LIMITS): Promise<number> {
  return probeMain(parseProbe(argv, io.env), io, limits);
}

if (require.main === module) {
  exitOnSignals();
  runMain(COMMANDS.probe, (argv) => main(argv));
}
