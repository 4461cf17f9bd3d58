// A whole bench: the broker (an embedded aedes one unless --broker names
// another), then one measured run per QoS level, one after the other.
import { startBroker } from '../broker/embedded';
import type { BenchOptions } from '../cli/options';
import type { BenchInfo } from './report';
import { summarize, type QosResult } from './result';
import { runQos, type RunProgress } from './run';
import { openTrace } from './trace';

export interface Bench {
  info: BenchInfo;
  results: QosResult[];
}

export async function runBench(options: BenchOptions, progress?: (label: string, total: number, p: RunProgress) => void): Promise<Bench> {
  const embedded = options.broker ? undefined : await startBroker({ port: 0 });
  const url = options.broker ?? embedded!.url;
  const trace = options.trace ? openTrace(options.trace) : undefined;
  try {
    const results: QosResult[] = [];
    for (const qos of options.levels) {
      const samples = await runQos(
        {
          url,
          qos,
          count: options.count,
          size: options.size,
          window: options.window,
          idleMs: options.idle * 1000,
          topic: options.topic,
          clientId: `mqtt-qos-bench-${process.pid}-q${qos}`,
          stallAfter: options.stallAfter,
          onPacket: trace && ((client) => trace.listener(client)),
        },
        progress && ((p) => progress(`QoS ${qos}`, options.count, p)),
      );
      await trace?.flush();
      results.push(summarize(samples));
    }
    const broker = embedded ? `${url} (embedded aedes)` : url;
    return { info: { broker, count: options.count, size: options.size, window: options.window }, results };
  } finally {
    await trace?.close();
    await embedded?.close();
  }
}
