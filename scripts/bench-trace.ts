// In-process figures for the lab: how long the 9 exchanges take without the
// node/tsx start-up, and how long writing their JSON trace takes.
import { performance } from 'node:perf_hooks';
import { DEFAULT_MESSAGE } from '../src/cli/options/pair';
import { openOutputFile } from '../src/cli/output-file';
import { runPairs } from '../src/lab/pairs';
import { pairRecords } from '../src/lab/trace';
import { traceLine } from '../src/mqtt/trace';
import { QOS_LEVELS } from '../src/mqtt/qos';

async function main(file: string): Promise<void> {
  const start = performance.now();
  const pairs = await runPairs({ protocol: 4, pubs: QOS_LEVELS, subs: QOS_LEVELS, topic: 'bench', message: DEFAULT_MESSAGE }, () => undefined, () => undefined);
  const ran = performance.now();
  const trace = openOutputFile('json', file);
  let records = 0;
  for (const pair of pairs) {
    for (const record of pairRecords(pair, start, 4)) {
      trace.write(traceLine(record));
      records++;
    }
  }
  trace.close();
  const traced = performance.now();
  console.log(`9 pairs in-process: ${(ran - start).toFixed(0)} ms; JSON trace of ${records} packet records: ${(traced - ran).toFixed(1)} ms`);
}

void main(process.argv[2] ?? '/dev/null');
