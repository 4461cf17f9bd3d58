// The bare MQTT.js column of bench:compare: two plain mqtt.connect() clients
// with MQTT.js's defaults and the same windowed numbered publisher as ours, a
// subscriber that only counts sequence numbers. What it leaves out is what
// ours adds: the connection helper (a snapshot of every packet, flow tracking,
// listeners) and the per-message timings and latency samples of run.ts.
// It does not reuse run.ts's measure(): that loop is the cost being measured.
import mqtt, { type MqttClient } from 'mqtt';
import { performance } from 'node:perf_hooks';
import { MqttError } from '../mqtt/errors';
import type { QoS } from '../mqtt/qos';
import { orTimeout } from '../mqtt/wait';
import { publishNumbered } from '../numbered/publisher';
import { seqOf } from '../numbered/payload';
import { account, newTally, record, type Accounting } from '../numbered/tally';

export interface BareJob {
  url: string;
  qos: QoS;
  count: number;
  size: number;
  window: number;
  idleMs: number;
  answerMs: number;
  topic: string;
  clientId: string;
}

export interface BareSpan {
  /** performance.now() of the first and the last first-time delivery. */
  firstReceive: number;
  lastReceive: number;
  accounting: Accounting;
}

async function bareClient(url: string, clientId: string, answerMs: number): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, clean: true, protocolVersion: 4, reconnectPeriod: 0 });
  try {
    await orTimeout(
      new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
        client.once('close', () => reject(new MqttError('unreachable', `bare MQTT.js client ${clientId}: the connection closed before CONNACK`)));
      }),
      answerMs,
      `bare MQTT.js client ${clientId}: no CONNACK`,
    );
  } catch (error) {
    client.end(true);
    throw error;
  }
  // A later error (a reset socket) shows as loss or an idle end; unheard, it would end the process.
  client.on('error', () => undefined);
  return client;
}

export async function measureBare(job: BareJob): Promise<BareSpan> {
  const sub = await bareClient(job.url, `${job.clientId}-sub`, job.answerMs);
  let pub: MqttClient | undefined;
  try {
    await orTimeout(sub.subscribeAsync(job.topic, { qos: job.qos }), job.answerMs, `bare MQTT.js subscriber: no SUBACK`);
    pub = await bareClient(job.url, `${job.clientId}-pub`, job.answerMs);
    const tally = newTally(job.count);
    let firstReceive = 0;
    let lastReceive = 0;
    let lastActivity = performance.now();
    let publisherDone = false;
    let finish: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (finish = resolve));
    sub.on('message', (_topic, payload: Buffer) => {
      const now = performance.now();
      lastActivity = now;
      if (!record(tally, seqOf(payload))) return;
      if (tally.unique === 1) firstReceive = now;
      lastReceive = now;
      if (tally.unique === job.count && publisherDone) finish();
    });
    const publisher = publishNumbered(pub, job, { onSettled: (_seq, at) => (lastActivity = at) });
    void publisher.done.then(() => {
      publisherDone = true;
      if (tally.unique === job.count) finish();
    });
    // The same end as ours: everything delivered, or nothing happening for idleMs (a broker that dropped some).
    const idle = setInterval(() => {
      if (performance.now() - lastActivity >= job.idleMs) finish();
    }, Math.min(250, job.idleMs));
    await ended;
    clearInterval(idle);
    publisher.stop();
    return { firstReceive, lastReceive, accounting: account(tally, publisher.acked) };
  } finally {
    // Not measured: the socket is dropped, no DISCONNECT handshake to wait for.
    pub?.end(true);
    sub.end(true);
  }
}
