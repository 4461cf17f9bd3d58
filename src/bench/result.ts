// What one QoS run measured, as figures: the shape of `--json` and of every table.
import type { QoS } from '../mqtt/qos';
import type { Accounting } from '../numbered/tally';
import type { RunEnd, RunSamples } from './run';
import { percentiles, rate, type Percentiles } from './stats';

export interface QosResult {
  qos: QoS;
  count: number;
  size: number;
  window: number;
  published: number;
  /** PUBACK/PUBCOMP received (QoS 1/2); for QoS 0, publishes written to the socket. */
  acked: number;
  accounting: Accounting;
  /** First publish to last first-time delivery. */
  elapsedMs: number;
  /** Distinct messages delivered per second over elapsedMs. */
  msgPerSec: number;
  /** Publish → delivery (ms). */
  receiveLatency: Percentiles | null;
  /** Publish → PUBACK/PUBCOMP, or → written for QoS 0 (ms). */
  ackLatency: Percentiles | null;
  end: RunEnd;
}

export function resultOf(samples: RunSamples): QosResult {
  const { job, accounting } = samples;
  const elapsedMs = accounting.unique > 0 ? samples.lastReceive - samples.firstSend : 0;
  return {
    qos: job.qos,
    count: job.count,
    size: job.size,
    window: job.window,
    published: samples.published,
    acked: samples.acked,
    accounting,
    elapsedMs,
    msgPerSec: rate(accounting.unique, elapsedMs),
    receiveLatency: percentiles(samples.receiveLatency),
    ackLatency: percentiles(samples.ackLatency),
    end: samples.end,
  };
}
