// A whole bench: the broker (an embedded aedes one unless --broker names
// another), then one measured run per QoS level, one after the other.
import { start, type StartedBroker } from '../broker/start';
import type { ConnectionSettings, ProtocolVersion } from '../mqtt/connection';
import type { QoS } from '../mqtt/qos';
import type { BenchInfo } from './report';
import { resultOf, type QosResult } from './result';
import { measureLevel, type RunProgress } from './run';
import { openTrace } from './trace';
import type { TraceSink } from '../mqtt/trace';
import { LIMITS, type Limits } from '../mqtt/wait';
import type { RunEnd } from './run';

/** What a bench runs; cli/options/bench.ts builds it from argv. */
export interface BenchOptions {
  /** undefined: an embedded aedes broker started for the run. */
  broker?: string;
  /** --sub-broker: the subscriber on this broker, the publisher on `broker` (--pub-broker). */
  subBroker?: string;
  levels: QoS[];
  count: number;
  size: number;
  /** Most unacknowledged publishes at once; 0 for no limit. */
  window: number;
  /** Seconds without a delivery or an acknowledgement before a run ends and reports what is missing. */
  idle: number;
  topic: string;
  json: boolean;
  /** The subscriber stops reading after this many messages until the publisher is done. */
  stallAfter?: number;
  /** MQTT version of both clients; 3.1.1 when left out. */
  protocol?: ProtocolVersion;
  /** Credentials, TLS and keepalive of both clients. */
  connection?: ConnectionSettings;
  /** The --trace file, already open: every client packet goes there (what tracing costs). */
  trace?: TraceSink;
}

export interface Bench {
  info: BenchInfo;
  results: QosResult[];
}

export async function runBench(options: BenchOptions, progress?: (label: string, total: number, p: RunProgress) => void, limits: Limits = LIMITS): Promise<Bench> {
  const trace = options.trace ? openTrace(options.trace) : undefined;
  let embedded: StartedBroker | undefined;
  try {
    embedded = options.broker ? undefined : await start('aedes');
    const url = options.broker ?? embedded!.url;
    const results: QosResult[] = [];
    for (const qos of options.levels) {
      const samples = await measureLevel(
        {
          url,
          subUrl: options.subBroker,
          qos,
          count: options.count,
          size: options.size,
          window: options.window,
          idleMs: options.idle * 1000,
          answerMs: limits.answerMs,
          topic: options.topic,
          clientId: `mqtt-qos-bench-${process.pid}-q${qos}`,
          stallAfter: options.stallAfter,
          protocol: options.protocol,
          connection: options.connection,
          onPacket: trace && ((client) => trace.listener(client)),
        },
        progress && ((p) => progress(`QoS ${qos}`, options.count, p)),
      );
      await trace?.flush();
      results.push(resultOf(samples));
    }
    const broker = embedded ? `${url} (embedded aedes)` : options.subBroker ? `${url} (publisher), ${options.subBroker} (subscriber)` : url;
    return { info: { broker, count: options.count, size: options.size, window: options.window }, results };
  } finally {
    try {
      await trace?.close();
    } finally {
      await embedded?.close();
    }
  }
}

/** What a bench comes to: every run complete, one ended on --idle (something never came), or one whose broker closed a connection. */
export type BenchOutcome = 'complete' | 'idle' | 'closed';

export function benchOutcome(results: readonly { end: RunEnd }[]): BenchOutcome {
  if (results.some((r) => r.end === 'publisher-closed' || r.end === 'subscriber-closed')) return 'closed';
  return results.every((r) => r.end === 'complete') ? 'complete' : 'idle';
}
