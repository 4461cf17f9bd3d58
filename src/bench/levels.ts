// A whole bench: the broker (an embedded aedes one unless --broker names
// another), then one measured run per QoS level, one after the other.
import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { startBroker } from '../broker/embedded';
import type { BenchOptions } from '../cli/options';
import { formatPacket } from '../mqtt/format';
import type { PacketListener } from '../mqtt/connection';
import type { BenchInfo } from './report';
import { summarize, type QosResult } from './result';
import { runQos, type RunProgress } from './run';

export interface Bench {
  info: BenchInfo;
  results: QosResult[];
}

export async function runBench(options: BenchOptions, progress?: (label: string, total: number, p: RunProgress) => void): Promise<Bench> {
  const embedded = options.broker ? undefined : await startBroker({ port: 0 });
  const url = options.broker ?? embedded!.url;
  const trace = options.trace ? createWriteStream(options.trace) : undefined;
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
          onPacket: trace ? traceTo(trace) : undefined,
        },
        progress && ((p) => progress(`QoS ${qos}`, options.count, p)),
      );
      results.push(summarize(samples));
    }
    const broker = embedded ? `${url} (embedded aedes)` : url;
    return { info: { broker, count: options.count, size: options.size, window: options.window }, results };
  } finally {
    if (trace) {
      trace.end();
      await finished(trace);
    }
    await embedded?.close();
  }
}

/** Every packet as the lesson prints it with --verbose, one line each. */
function traceTo(file: WriteStream): PacketListener {
  const style = { verbose: true, color: false };
  return (event) => {
    file.write(`${event.at.toFixed(3)} ${formatPacket(event, style)}\n`);
  };
}
