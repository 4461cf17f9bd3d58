// The load test's publisher, run as its own process so the subscriber's memory
// and CPU are measured alone. It paces PUBLISHes to a fixed rate (each payload
// is its sequence number, src/numbered) and reports, as one JSON line, how many it sent.
// Not a user-facing tool: src/bench/load.ts starts it (src/bin/load-publisher.ts) with a JSON argument.
import type { QoS } from '../mqtt/qos';
import { publishNumbered } from '../numbered/publisher';
import { connect, END_GRACE_MS } from '../mqtt/connection';

export interface PublisherJob {
  url: string;
  topic: string;
  qos: QoS;
  rate: number;
  seconds: number;
  /** The bound on each wait for the broker (CONNACK, the last acknowledgements); also caps the catching up. */
  answerMs: number;
}

export interface PublisherReport {
  sent: number;
  /** PUBACK/PUBCOMP received; for QoS 0, written to the socket. */
  acked: number;
  /** From the first PUBLISH to the last acknowledgement. */
  seconds: number;
}

/**
 * At most this many messages unacknowledged (QoS 0: not yet written to the socket): past it the publisher
 * waits (and catches up later), as a real one must. Unbounded, MQTT.js's
 * in-flight store grows without limit and its acks slow down, and we would be
 * measuring that rather than the subscriber.
 */
const WINDOW = 1000;
/** How long past the end the publisher may go on catching up before it stops short. */
const LATE_MS = 10_000;

export async function run(job: PublisherJob): Promise<PublisherReport> {
  const conn = await connect({ url: job.url, clientId: `load-pub-${process.pid}`, clean: true, protocol: 4, connectTimeoutMs: job.answerMs }, () => undefined);
  const start = performance.now();
  const deadlineMs = job.seconds * 1000 + Math.min(LATE_MS, job.answerMs);
  const publisher = publishNumbered(conn.client, { topic: job.topic, qos: job.qos, count: job.rate * job.seconds, size: 0, window: WINDOW, rate: job.rate, deadlineMs });
  await publisher.done;
  await conn.end(Math.min(job.answerMs, END_GRACE_MS)); // waits for the last acknowledgements, bounded
  return { sent: publisher.issued, acked: publisher.ackedCount, seconds: (performance.now() - start) / 1000 };
}
