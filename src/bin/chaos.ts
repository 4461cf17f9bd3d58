#!/usr/bin/env node
// npm run chaos: does each QoS level keep its promise when connections keep breaking?
import { EXIT, type ExitCode } from '../cli/errors';
import { processIo, type Io } from '../cli/io';
import { runMain } from '../cli/main';
import { parseChaos } from '../cli/options/faults';
import { CHAOS_LIMITS, chaosVerdict, runChaos, type ChaosVerdict, type ChaosLimits } from '../chaos/chaos';
import { COMMANDS } from '../cli/options/parse';
import { exitOnSignals } from '../broker/children';

/** The exit code each verdict earns: a malformed packet or a broken MQTT rule 6, a stalled run (a bound ran out) 4, a broken promise 5. */
const CHAOS_EXIT: Record<ChaosVerdict, ExitCode> = { malformed: EXIT.violation, violation: EXIT.violation, stalled: EXIT.timeout, broken: EXIT.protocol, kept: EXIT.ok };

/** `limits` are the bounded waits' lengths; tests pass short ones. */
export async function main(argv: string[], io: Io = processIo(), limits: ChaosLimits = CHAOS_LIMITS): Promise<number> {
  const parsed = parseChaos(argv, io.env);
  if (parsed.kind === 'shown') return EXIT.ok;
  const report = await runChaos(parsed.options, (line) => io.out.write(`${line}\n`), limits);
  // A broken promise is a finding, printed above; the exit code lets a script notice it.
  return CHAOS_EXIT[chaosVerdict(report)];
}

if (require.main === module) {
  exitOnSignals();
  runMain(COMMANDS.chaos, (argv) => main(argv));
}
