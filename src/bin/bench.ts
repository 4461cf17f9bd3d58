#!/usr/bin/env node
// mqtt-qos-bench: what each QoS level costs, measured end to end.
import { exitOnSignals } from '../broker/children';
import { runMain } from '../cli/main';
import { BENCH_TOOL, parseBench } from '../cli/options/bench';
import { EXIT, type ExitCode } from '../cli/errors';
import { processIo, type Io } from '../cli/io';
import { benchOutcome, runBench, runSweepBench, type BenchOutcome } from '../bench/levels';
import { sweepReport } from '../bench/sweep';
import { LIMITS, type Limits } from '../mqtt/wait';
import { progressBar } from '../bench/progress';
import { jsonReport, textReport } from '../bench/report';

/** A complete bench exits 0; one that ended on --idle (something never came) 4; one whose broker closed a connection 5. */
const BENCH_EXIT: Record<BenchOutcome, ExitCode> = { complete: EXIT.ok, idle: EXIT.timeout, closed: EXIT.protocol };

/** `limits` are the bounded waits' lengths; tests pass short ones. */
export async function main(argv: string[], io: Io = processIo(), limits: Limits = LIMITS): Promise<number> {
  const parsed = parseBench(argv, io.env, io.out);
  if (parsed.kind === 'shown') return EXIT.ok;
  if (parsed.options.sweep) {
    const { heading, points } = await runSweepBench(parsed.options, undefined, limits);
    io.out.write(`${parsed.options.json ? JSON.stringify({ heading, points }, null, 2) : sweepReport(points, heading)}\n`);
    return points.every((p) => p.complete) ? EXIT.ok : EXIT.timeout;
  }
  // `--trace -`: stdout carries the trace alone, the report goes to stderr.
  const out = parsed.options.traceToStdout ? io.err : io.out;
  const bar = progressBar(io.err);
  const { info, results } = await runBench(parsed.options, bar.update, limits).finally(() => bar.done());
  out.write(`${parsed.options.json ? jsonReport(info, results) : textReport(info, results)}\n`);
  // The report says what happened; the code lets a script notice a run that did not complete.
  return BENCH_EXIT[benchOutcome(results)];
}

if (require.main === module) {
  exitOnSignals();
  runMain(BENCH_TOOL, (argv) => main(argv));
}
