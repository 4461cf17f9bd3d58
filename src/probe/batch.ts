// Numbered traffic for the probe's questions: one publisher connection per
// batch (a broker that refuses a QoS by closing the connection spoils only that
// batch), and a subscriber's tally (src/numbered/).
import type { MqttClient } from 'mqtt';
import type { Connection, ProtocolVersion } from '../mqtt/connection';
import { MqttError } from '../mqtt/errors';
import type { QoS } from '../mqtt/qos';
import { within } from '../mqtt/wait';
import { seqOf } from '../numbered/payload';
import { publishNumbered } from '../numbered/publisher';
import { newTally, record, type Tally } from '../numbered/tally';
import { client, type Probe } from './probe';
import type { ProbeRecord } from './recorder';

export interface Batch {
  issued: number;
  acked: Uint8Array;
  ackedCount: number;
  /** Why the batch ended early: the broker closed the connection, or nothing was acknowledged for the stall bound. */
  problem: string | null;
}

/** Publishes 0..count-1 at `qos` to `topicName` on a connection of its own, `window` at a time. */
export async function publishBatch(p: Probe, role: string, topicName: string, qos: QoS, count: number, window = 20, protocol: ProtocolVersion = 4): Promise<Batch> {
  const pub = await client(p, role, { protocol });
  const job = publishNumbered(pub.client, { topic: topicName, qos, count, size: 0, window, stallMs: p.limits.stallMs });
  let problem: string | null = null;
  try {
    const end = await Promise.race([job.done, pub.lost]);
    if (end === 'stalled') problem = `no acknowledgement for ${p.limits.stallMs / 1000} s`;
  } catch (error) {
    problem = error instanceof MqttError ? error.message : String(error);
  } finally {
    job.stop();
    await pub.end(problem ? 0 : p.limits.answerMs);
  }
  return { issued: job.issued, acked: job.acked, ackedCount: job.ackedCount, problem };
}

/** A subscriber's tally of numbered payloads, fed from MQTT.js's hand-overs; attach in connect()'s prepare. */
export function tallying(expected: number): { tally: Tally; prepare(client: MqttClient): void } {
  const tally = newTally(expected);
  return { tally, prepare: (c) => c.on('message', (_t, payload) => record(tally, seqOf(payload))) };
}

/** Ends a connection politely, bounded; never throws (the question has its answer already). */
export async function close(conn: Connection | null | undefined, p: Probe): Promise<void> {
  if (!conn) return;
  await within(conn.end(p.limits.answerMs).catch(() => undefined), p.limits.answerMs * 2);
}

/** MQTT 5 reason codes a broker may put in a PUBACK or PUBREC (the rest are named by number). */
const REASONS: Record<number, string> = {
  0x00: 'success',
  0x10: 'no matching subscribers',
  0x80: 'unspecified error',
  0x83: 'implementation specific error',
  0x87: 'not authorized',
  0x90: 'topic name invalid',
  0x91: 'packet identifier in use',
  0x97: 'quota exceeded',
  0x99: 'payload format invalid',
  0x9b: 'QoS not supported',
};

export interface Told {
  /** The publishers' MQTT version: only 5 has room for a reason. */
  protocol: ProtocolVersion;
  /** Reason codes the broker sent the publishers: PUBACK/PUBREC `0x10` → count (absent on the wire: 0x00), a DISCONNECT's as `DISCONNECT 0x9b`. */
  codes: Record<string, number>;
  /** Answers with a reason other than success. */
  told: number;
  /** The broker's PUBACKs, PUBRECs and DISCONNECTs to these publishers. */
  answers: ProbeRecord[];
}

const TELLING = ['puback', 'pubrec', 'disconnect'];

/** What the broker told the publishers with these roles, read from the PUBACKs, PUBRECs and DISCONNECTs (MQTT 5 only) it sent them since record `since`. */
export function toldPublishers(p: Probe, roles: readonly string[], since: number, protocol: ProtocolVersion): Told {
  const ids = new Set(roles.map((r) => `${p.run}-${r}`));
  const answers = p.rec.records.slice(since).filter((r) => ids.has(r.clientId) && r.direction === 'send' && TELLING.includes(r.packet.cmd));
  const codes: Record<string, number> = {};
  for (const r of answers) {
    const hex = `0x${((r.packet as { reasonCode?: number }).reasonCode ?? 0).toString(16).padStart(2, '0')}`;
    const code = r.packet.cmd === 'disconnect' ? `DISCONNECT ${hex}` : hex;
    codes[code] = (codes[code] ?? 0) + 1;
  }
  const told = answers.length - (codes['0x00'] ?? 0);
  return { protocol, codes, told, answers };
}

/** `the publisher (MQTT 5) got 0x00 success ×1500, 0x97 quota exceeded ×6`, or why an MQTT 3.1.1 publisher cannot be told. */
export function toldText(t: Told): string {
  if (t.protocol !== 5) return 'the publisher (MQTT 3.1.1, whose PUBACK has no reason code) cannot be told';
  const list = Object.entries(t.codes).map(([code, n]) => `${code} ${REASONS[Number(code.split(' ').at(-1))] ?? 'reason'} ×${n}`);
  return `the publisher (MQTT 5) got ${list.join(', ') || 'no answer'}${t.told === 0 ? ': not told' : ''}`;
}
