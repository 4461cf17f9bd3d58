#!/usr/bin/env node
// mqtt-qos-bench: what each QoS level costs, measured end to end.
import { runMain } from './cli/main';
import { BENCH_TOOL, parseBench } from './cli/options/bench';
import { EXIT } from './cli/errors';
import { runBench } from './bench/levels';
import { progressBar } from './bench/progress';
import { jsonReport, textReport } from './bench/report';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseBench(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const bar = progressBar();
  const { info, results } = await runBench(parsed.options, bar.update);
  bar.done();
  process.stdout.write(`${parsed.options.json ? jsonReport(info, results) : textReport(info, results)}\n`);
  return EXIT.ok;
}

if (require.main === module) runMain(BENCH_TOOL, main);
