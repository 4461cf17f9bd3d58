// Bench results as text: a heading, a delivery table, a latency table and a
// small bar chart comparing the levels; or as JSON for machines.
import type { QosResult } from './result';
import type { Percentiles } from './stats';

export interface BenchInfo {
  broker: string;
  count: number;
  size: number;
  window: number;
}

export function heading(info: BenchInfo): string {
  const window = info.window === 0 ? 'unbounded' : String(info.window);
  return `bench: ${info.count} messages of ${info.size} B per QoS, in-flight window ${window}, broker ${info.broker}`;
}

const END_TEXT: Record<QosResult['end'], string> = {
  complete: 'all delivered',
  idle: 'idle timeout',
  'publisher-closed': 'broker closed publisher',
  'subscriber-closed': 'broker closed subscriber',
};

function deliveryTable(results: QosResult[]): string {
  const rows = results.map((r) => {
    const a = r.accounting;
    return [`QoS ${r.qos}`, rateText(r.msgPerSec), r.published, r.acked, a.received, a.lost, a.duplicated, a.outOfOrder, a.ackedButLost, END_TEXT[r.end]].map(String);
  });
  return table(['', 'msg/s', 'published', 'acked', 'delivered', 'lost', 'dup', 'reordered', 'acked+lost', 'ended'], rows);
}

function latencyTable(results: QosResult[]): string {
  const cells = (p: Percentiles | null) => (p ? [p.p50, p.p90, p.p99, p.max].map(ms) : ['-', '-', '-', '-']);
  const rows = results.map((r) => [`QoS ${r.qos}`, ...cells(r.receiveLatency), ...cells(r.ackLatency)]);
  return table(['latency ms', 'recv p50', 'p90', 'p99', 'max', 'ack p50', 'p90', 'p99', 'max'], rows);
}

const BAR_WIDTH = 40;

/** Horizontal bars, scaled to the largest value of each metric. */
function chart(results: QosResult[]): string {
  const metrics: [string, (r: QosResult) => number, (v: number) => string][] = [
    ['msg/s', (r) => r.msgPerSec, rateText],
    ['recv p50 ms', (r) => r.receiveLatency?.p50 ?? 0, ms],
  ];
  const lines: string[] = [];
  for (const [name, value, text] of metrics) {
    const top = Math.max(...results.map(value), Number.MIN_VALUE);
    lines.push(name);
    for (const r of results) {
      const v = value(r);
      lines.push(`  QoS ${r.qos} ${'█'.repeat(Math.round((v / top) * BAR_WIDTH)).padEnd(BAR_WIDTH)} ${text(v)}`);
    }
  }
  return lines.join('\n');
}

/** Notes on what the figures mean for this run: only for what happened. */
export function notes(results: QosResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    const a = r.accounting;
    if (a.lost > 0) out.push(`QoS ${r.qos}: ${a.lost} of ${a.expected} messages never reached the subscriber (${END_TEXT[r.end]})`);
    if (a.ackedButLost > 0) out.push(`QoS ${r.qos}: ${a.ackedButLost} of them were acknowledged to the publisher: an ack means the broker took the message, not that a subscriber got it`);
    if (a.duplicated > 0) out.push(`QoS ${r.qos}: ${a.duplicated} duplicate deliveries`);
    if (a.foreign > 0) out.push(`QoS ${r.qos}: ${a.foreign} deliveries carried no sequence number of this run (another publisher on the topic?)`);
  }
  if (results.some((r) => r.qos === 0)) out.push("QoS 0 'acked' and 'ack' latency: written to the socket (QoS 0 has no acknowledgement)");
  return out;
}

export function textReport(info: BenchInfo, results: QosResult[]): string {
  return [heading(info), '', deliveryTable(results), '', latencyTable(results), '', chart(results), '', ...notes(results)].join('\n').trimEnd();
}

export function jsonReport(info: BenchInfo, results: QosResult[]): string {
  return JSON.stringify({ ...info, results }, null, 2);
}

export function rateText(perSec: number): string {
  return perSec >= 1000 ? `${(perSec / 1000).toFixed(1)}K` : perSec.toFixed(0);
}

function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(2);
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
