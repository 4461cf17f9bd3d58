// Numbered traffic for the probe's questions: one publisher connection per
// batch (a broker that refuses a QoS by closing the connection spoils only that
// batch), and a subscriber's tally (src/numbered/).
import type { MqttClient } from 'mqtt';
import type { Connection } from '../mqtt/connection';
import { MqttError } from '../mqtt/errors';
import type { QoS } from '../mqtt/qos';
import { within } from '../mqtt/wait';
import { seqOf } from '../numbered/payload';
import { publishNumbered } from '../numbered/publisher';
import { newTally, record, type Tally } from '../numbered/tally';
import { client, type Probe } from './probe';

export interface Batch {
  issued: number;
  acked: Uint8Array;
  ackedCount: number;
  /** Why the batch ended early: the broker closed the connection, or nothing was acknowledged for the stall bound. */
  problem: string | null;
}

/** Publishes 0..count-1 at `qos` to `topicName` on a connection of its own, `window` at a time. */
export async function publishBatch(p: Probe, role: string, topicName: string, qos: QoS, count: number, window = 20): Promise<Batch> {
  const pub = await client(p, role);
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
