// A whole bench: the broker (one of --engine, started for the run, unless --broker names
// another), then one measured run per QoS level, one after the other.
import { start, type BrokerKind, type StartedBroker } from '../broker/start';
import type { ConnectionSettings, ProtocolVersion } from '../mqtt/connection';
import type { QoS } from '../mqtt/qos';
import type { BenchInfo } from './report';
import { resultOf, type QosResult } from './result';
import { measureLevel, type RunProgress } from './run';
import { openTrace } from './trace';
import type { TraceSink } from '../mqtt/trace';
import { LIMITS, type Limits } from '../mqtt/wait';
import type { RunEnd } from './run';
import { runSweep, type SweepPoint } from './sweep';

/** What a bench runs; cli/options/bench.ts builds it from argv. */
export interface BenchOptions {
  /** undefined: a broker of `engine` started for the run. */
  broker?: string;
  engine: BrokerKind;
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
  /** Run the sweep (sweep.ts) instead of one run per level; `count` is then deliveries per point. */
  sweep: boolean;
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
  const trace = options.trace ? openTrace(options.trace, options.protocol) : undefined;
  let started: StartedBroker | undefined;
  try {
    started = options.broker ? undefined : await start(options.engine);
    const url = options.broker ?? started!.url;
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
    const where = options.subBroker ? `${url} (publisher), ${options.subBroker} (subscriber)` : url;
    const broker = started ? `${where}, started for the run: ${started.name}` : where;
    return { info: { broker, count: options.count, size: options.size, window: options.window }, results };
  } finally {
    try {
      await trace?.close();
    } finally {
      await started?.close();
    }
  }
}

const SWEEP_MOSQUITTO = 'max_queued_messages 100000';

/** The sweep, on the bench's broker (one of --engine, started for the run, unless --broker). */
export async function runSweepBench(options: BenchOptions, onPoint?: (p: SweepPoint) => void, limits: Limits = LIMITS): Promise<{ heading: string; points: SweepPoint[] }> {
  // A mosquitto of our own gets a deep queue: stock (1000) drops what a subscriber behind a window of 1000 would get, and a
  // point with loss measures the drop, not the cost. (0, "no limit", makes 2.0.11 deliver nothing: a bug fixed in 2.0.17.)
  const started = options.broker ? undefined : await start(options.engine, options.engine === 'mosquitto' ? { config: [SWEEP_MOSQUITTO] } : {});
  try {
    const url = options.broker ?? started!.url;
    const points = await runSweep({ url, levels: options.levels, deliveries: options.count, idleMs: options.idle * 1000, answerMs: limits.answerMs, topic: options.topic, protocol: options.protocol, connection: options.connection }, onPoint);
    const broker = started ? `${url}, started for the run: ${started.name}${options.engine === 'mosquitto' ? ` with ${SWEEP_MOSQUITTO}` : ''}` : url;
    return { heading: `bench --sweep: QoS ${options.levels.join(',')}, from window 20, 32 B, 1 pair; about ${options.count} deliveries per point; broker ${broker}`, points };
  } finally {
    await started?.close();
  }
}

/** What a bench comes to: every run complete, one ended on --idle (something never came), or one whose broker closed a connection. */
export type BenchOutcome = 'complete' | 'idle' | 'closed';

export function benchOutcome(results: readonly { end: RunEnd }[]): BenchOutcome {
  if (results.some((r) => r.end === 'publisher-closed' || r.end === 'subscriber-closed')) return 'closed';
  return results.every((r) => r.end === 'complete') ? 'complete' : 'idle';
}
