// bench --sweep: how the cost of each QoS level grows with the work. From one
// base point (window 20, 32 B payloads, one publisher/subscriber pair) one
// thing at a time grows: the window, the payload, the number of pairs, the
// number of subscribers of one publisher (fan-out). Each point is the bench's
// measured run (run.ts); pairs run side by side on topics of their own.
import type { ConnectionSettings, ProtocolVersion } from '../mqtt/connection';
import type { QoS } from '../mqtt/qos';
import { table, rateText } from './report';
import { measureLevel, sumAccounting, type RunJob, type RunSamples } from './run';
import { percentiles, rate, type Percentiles } from './stats';
import type { Accounting } from '../numbered/tally';

export type Axis = 'window' | 'payload' | 'pairs' | 'fan-out';

export const AXES: Record<Axis, { label: string; values: number[] }> = {
  window: { label: 'window', values: [1, 20, 100, 1000] },
  payload: { label: 'payload B', values: [32, 1024, 16_384, 262_144] },
  pairs: { label: 'pairs', values: [1, 10, 100] },
  'fan-out': { label: 'subscribers', values: [1, 10, 100] },
};

const BASE = { window: 20, size: 32, pairs: 1, subscribers: 1 };

/** Payload bytes one point sends at most: a 256 KB point sends fewer messages, not a gigabyte. */
const POINT_BYTES = 64 * 2 ** 20;
/** Fewest messages a publisher sends, however the deliveries are split. */
const MIN_MESSAGES = 20;

export interface SweepJob {
  url: string;
  levels: QoS[];
  /** Deliveries per point (split across pairs, divided by the subscribers of a fan-out). */
  deliveries: number;
  idleMs: number;
  answerMs: number;
  topic: string;
  /** The bench's connection flags, for every client of every point. */
  protocol?: ProtocolVersion;
  connection?: ConnectionSettings;
}

export interface SweepPoint {
  axis: Axis;
  value: number;
  qos: QoS;
  /** Messages each publisher sent. */
  messages: number;
  /** Distinct deliveries, over all subscribers, per second: first publish to last delivery. */
  msgPerSec: number;
  receiveLatency: Percentiles | null;
  /** This process's peak resident memory during the point, MB (clients, and the broker when it is the embedded one). */
  rssMb: number;
  /** How far the peak rose above the RSS at the point's start, MB. */
  rssGrowthMb: number;
  accounting: Accounting;
  /** Every run of the point delivered everything. */
  complete: boolean;
  /** Runs it took (a point that lost messages is run again, up to 3 times); the figures are the last run's. */
  tries: number;
}

/** What one point runs: its pairs, subscribers per publisher, window and payload. */
export function pointShape(axis: Axis, value: number, deliveries: number): { pairs: number; subscribers: number; window: number; size: number; messages: number } {
  const shape = { ...BASE };
  if (axis === 'window') shape.window = value;
  if (axis === 'payload') shape.size = value;
  if (axis === 'pairs') shape.pairs = value;
  if (axis === 'fan-out') shape.subscribers = value;
  const perPublisher = Math.floor(deliveries / (shape.pairs * shape.subscribers));
  const messages = Math.max(MIN_MESSAGES, Math.min(perPublisher, Math.floor(POINT_BYTES / shape.size)));
  return { ...shape, messages };
}

async function runPoint(job: SweepJob, axis: Axis, value: number, qos: QoS, n: number): Promise<SweepPoint> {
  const shape = pointShape(axis, value, job.deliveries);
  // A collection first (when node runs with --expose-gc, as `npm run bench` does), so a point starts without the last one's garbage.
  (globalThis as { gc?: () => void }).gc?.();
  const startRss = process.memoryUsage.rss();
  let peak = startRss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  let runs: RunSamples[];
  try {
    runs = await Promise.all(
      Array.from({ length: shape.pairs }, (_, pair) => {
        const run: RunJob = {
          url: job.url,
          qos,
          count: shape.messages,
          size: Math.max(shape.size, String(shape.messages - 1).length),
          window: shape.window,
          idleMs: job.idleMs,
          answerMs: job.answerMs,
          topic: `${job.topic}/sweep/${process.pid}/${n}/${pair}`,
          clientId: `mqtt-qos-sweep-${process.pid}-${n}-${pair}`,
          subscribers: shape.subscribers,
          protocol: job.protocol,
          connection: job.connection,
        };
        return measureLevel(run);
      }),
    );
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  const accounting = sumAccounting(runs.map((r) => r.accounting));
  const start = Math.min(...runs.map((r) => r.firstSend));
  const last = Math.max(...runs.map((r) => r.lastReceive));
  const latencies = new Float64Array(runs.reduce((sum, r) => sum + r.receiveLatency.length, 0));
  let at = 0;
  for (const r of runs) {
    latencies.set(r.receiveLatency, at);
    at += r.receiveLatency.length;
  }
  return {
    axis,
    value,
    qos,
    messages: shape.messages,
    msgPerSec: accounting.unique > 0 ? rate(accounting.unique, last - start) : 0,
    receiveLatency: percentiles(latencies),
    rssMb: peak / 2 ** 20,
    rssGrowthMb: (peak - startRss) / 2 ** 20,
    accounting,
    complete: runs.every((r) => r.end === 'complete'),
    tries: 1,
  };
}

/** How often a point whose broker dropped messages is run again: a run with loss measured the drop, not the throughput. */
const RETRIES = 2;

/** Every point of every axis, each QoS level in turn; `onPoint` hears each as it ends. */
export async function runSweep(job: SweepJob, onPoint: (p: SweepPoint) => void = () => undefined): Promise<SweepPoint[]> {
  const points: SweepPoint[] = [];
  let n = 0;
  for (const axis of Object.keys(AXES) as Axis[]) {
    for (const value of AXES[axis].values) {
      for (const qos of job.levels) {
        let point = await runPoint(job, axis, value, qos, n++);
        for (let retry = 0; retry < RETRIES && !isCleanPoint(point); retry++) point = { ...(await runPoint(job, axis, value, qos, n++)), tries: retry + 2 };
        points.push(point);
        onPoint(point);
      }
    }
  }
  return points;
}

function isCleanPoint(p: SweepPoint): boolean {
  return p.complete && p.accounting.lost === 0;
}

function sizeText(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KB` : `${bytes} B`;
}

function valueText(axis: Axis, value: number): string {
  if (axis === 'payload') return sizeText(value);
  if (axis === 'pairs') return `${value} × (1 → 1)`;
  if (axis === 'fan-out') return `1 → ${value}`;
  return String(value);
}

const ms = (v: number | undefined) => (v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(2));

/** One table per axis (a row per value, msg/s p50 p99 per QoS, peak RSS), then a bar chart of msg/s. */
export function sweepReport(points: readonly SweepPoint[], heading: string): string {
  const levels = [...new Set(points.map((p) => p.qos))];
  const out: string[] = [heading];
  for (const axis of Object.keys(AXES) as Axis[]) {
    const mine = points.filter((p) => p.axis === axis);
    if (mine.length === 0) continue;
    const headers = [AXES[axis].label, 'msgs', ...levels.flatMap((q) => [`QoS ${q} msg/s`, 'p50 ms', 'p99 ms']), 'RSS MB (+during)', 'lost'];
    const rows = AXES[axis].values.map((value) => {
      const at = mine.filter((p) => p.value === value);
      const cells = levels.flatMap((q) => {
        const p = at.find((x) => x.qos === q);
        return p ? [rateText(p.msgPerSec), ms(p.receiveLatency?.p50), ms(p.receiveLatency?.p99)] : ['-', '-', '-'];
      });
      const lost = at.reduce((sum, p) => sum + p.accounting.lost, 0);
      return [valueText(axis, value), String(at[0]?.messages ?? '-'), ...cells, `${Math.max(...at.map((p) => p.rssMb)).toFixed(0)} (+${Math.max(...at.map((p) => p.rssGrowthMb)).toFixed(0)})`, String(lost)];
    });
    out.push('', table(headers, rows));
  }
  out.push('', chart(points, levels));
  for (const p of points) {
    const where = `${AXES[p.axis].label} ${valueText(p.axis, p.value)}, QoS ${p.qos}`;
    if (!isCleanPoint(p)) out.push(`${where}: ${p.accounting.lost} of ${p.accounting.expected} deliveries never came (${p.accounting.ackedButLost} acknowledged to the publisher) in each of ${p.tries} runs: the broker dropped them, so its msg/s is no throughput figure`);
    else if (p.tries > 1) out.push(`${where}: the broker dropped messages in ${p.tries - 1} run(s) before this clean one (not counted)`);
  }
  return out.join('\n');
}

const BAR = 40;

/** msg/s as bars, one block per axis, scaled to the fastest point of the sweep. */
function chart(points: readonly SweepPoint[], levels: QoS[]): string {
  const top = Math.max(...points.map((p) => p.msgPerSec), Number.MIN_VALUE);
  const lines = [`msg/s (bars scaled to ${rateText(top)})`];
  for (const axis of Object.keys(AXES) as Axis[]) {
    const mine = points.filter((p) => p.axis === axis);
    if (mine.length === 0) continue;
    lines.push(AXES[axis].label);
    for (const value of AXES[axis].values) {
      for (const q of levels) {
        const p = mine.find((x) => x.value === value && x.qos === q);
        if (!p) continue;
        const label = `  ${valueText(axis, value).padEnd(14)} QoS ${q} `;
        lines.push(`${label}${'█'.repeat(Math.max(p.msgPerSec > 0 ? 1 : 0, Math.round((p.msgPerSec / top) * BAR))).padEnd(BAR)} ${rateText(p.msgPerSec)}`);
      }
    }
  }
  return lines.join('\n');
}
