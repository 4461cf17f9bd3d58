// The measured loop for one QoS level: a subscriber and a publisher on their own
// connections (the project's connection helper), N numbered messages with at
// most `window` unacknowledged, and a record of when each was published,
// acknowledged and delivered. It ends when every message has arrived and been
// acknowledged, or when nothing has happened for `idleMs` (a broker that drops messages, a stalled
// subscriber), so loss is reported instead of waited on forever.
import type { MqttClient } from 'mqtt';
import { performance } from 'node:perf_hooks';
import { MqttError } from '../mqtt/errors';
import { connect, IGNORE_PACKETS, type Connection, type ConnectionSettings, type PacketListener, type ProtocolVersion } from '../mqtt/connection';
import { subscribe } from '../mqtt/subscriber';
import type { Leg } from '../mqtt/packet-event';
import type { QoS } from '../mqtt/qos';
import { publishNumbered } from '../numbered/publisher';
import { seqOf } from '../numbered/payload';
import { account, newTally, record, type Accounting } from '../numbered/tally';
import { LIMITS } from '../mqtt/wait';
import { END_GRACE_MS } from '../mqtt/connection';

export interface RunJob {
  url: string;
  /** The subscriber's broker when it is not the publisher's (--sub-broker: another node). */
  subUrl?: string;
  qos: QoS;
  count: number;
  /** Payload bytes per message. */
  size: number;
  /** Most messages unacknowledged at once; 0 for no limit. */
  window: number;
  idleMs: number;
  /** The bound on connecting, subscribing and the closing DISCONNECT (not on the measured part: that is idleMs). */
  answerMs?: number;
  topic: string;
  /** Client id prefix; the run appends -pub / -sub (-sub2, -sub3, … for more subscribers). */
  clientId: string;
  /** Subscribers on the topic, each getting every message (fan-out); 1 by default. */
  subscribers?: number;
  /** After this many deliveries the subscriber stops reading its socket until the publisher is done. */
  stallAfter?: number;
  /** MQTT version of both clients; 3.1.1 when left out. */
  protocol?: ProtocolVersion;
  /** Credentials, TLS and keepalive of both clients (the bench's connection flags). */
  connection?: ConnectionSettings;
  /** A listener for each client's packets (the trace); none by default. */
  onPacket?: (client: Leg) => PacketListener;
}

/** Why the run ended. */
export type RunEnd = 'complete' | 'idle' | 'publisher-closed' | 'subscriber-closed';

export interface RunSamples {
  job: RunJob;
  published: number;
  acked: number;
  /** performance.now() of the first publish, the first delivery and the last first-time delivery. */
  firstSend: number;
  firstReceive: number;
  lastReceive: number;
  /** Publish → delivery, one per distinct message per subscriber (ms). */
  receiveLatency: Float64Array;
  /** Publish → PUBACK/PUBCOMP (QoS 1/2) or → written (QoS 0), per acknowledged message (ms). */
  ackLatency: Float64Array;
  /** Summed over the subscribers: with fan-out, `expected` is count × subscribers. */
  accounting: Accounting;
  end: RunEnd;
}

export interface RunProgress {
  published: number;
  received: number;
}

export async function measureLevel(job: RunJob, progress?: (p: RunProgress) => void): Promise<RunSamples> {
  const onPacket = (client: Leg) => job.onPacket?.(client) ?? IGNORE_PACKETS;
  const base = { ...job.connection, url: job.url, clean: true, protocol: job.protocol ?? 4 };
  const answerMs = job.answerMs ?? LIMITS.answerMs;
  const subs: Connection[] = [];
  let pub: Connection | undefined;
  try {
    for (let i = 0; i < (job.subscribers ?? 1); i++) {
      const sub = await connect({ ...base, url: job.subUrl ?? job.url, clientId: `${job.clientId}-sub${i === 0 ? '' : i + 1}`, connectTimeoutMs: answerMs }, onPacket('subscriber'));
      subs.push(sub);
      const { granted } = await subscribe(sub, job.topic, job.qos, answerMs, null);
      // A bench at a QoS the broker will not deliver at would measure another level.
      if (granted !== job.qos) throw new MqttError('rejected', `the broker granted ${granted >= 0x80 ? 'no subscription' : `QoS ${granted}`} to a QoS ${job.qos} bench subscriber`);
    }
    pub = await connect({ ...base, clientId: `${job.clientId}-pub`, connectTimeoutMs: answerMs }, onPacket('publisher'));
    for (const c of [pub, ...subs]) corkPerRead(c.client);
    return await measure(job, pub, subs, progress);
  } finally {
    // Bounded: against a broker that never acknowledges, the DISCONNECT would wait for ever (the report was printed, the process never exited).
    await Promise.all([pub?.end(Math.min(answerMs, END_GRACE_MS)), ...subs.map((sub) => sub.end(Math.min(answerMs, END_GRACE_MS)))]);
  }
}

/** Accountings of several subscribers (or runs) as one: every count summed. */
export function sumAccounting(all: readonly Accounting[]): Accounting {
  const sum: Accounting = { expected: 0, received: 0, unique: 0, lost: 0, duplicated: 0, outOfOrder: 0, foreign: 0, ackedButLost: 0 };
  for (const a of all) for (const key of Object.keys(sum) as (keyof Accounting)[]) sum[key] += a[key];
  return sum;
}

async function measure(job: RunJob, pub: Connection, subs: Connection[], progress?: (p: RunProgress) => void): Promise<RunSamples> {
  const { count } = job;
  const sendAt = new Float64Array(count);
  const receiveLatency = new Float64Array(count * subs.length);
  const ackLatency = new Float64Array(count);
  const tallies = subs.map(() => newTally(count));
  let ackCount = 0;
  let firstReceive = Infinity;
  let lastReceive = 0;
  let delivered = 0;
  let lastActivity = performance.now();
  let publisherDone = false;

  let finish: (end: RunEnd) => void = () => undefined;
  const ended = new Promise<RunEnd>((resolve) => (finish = resolve));
  const stalls = subs.map((sub) => stallControl(sub.client));
  const total = count * subs.length;

  subs.forEach((sub, i) => {
    const tally = tallies[i]!;
    sub.client.on('message', (_topic, payload: Buffer) => {
      const now = performance.now();
      lastActivity = now;
      const seq = seqOf(payload);
      // record() counts every delivery, a foreign one too; only a first arrival of a number goes on.
      if (!record(tally, seq) || seq === null) return;
      if (now < firstReceive) firstReceive = now;
      receiveLatency[delivered++] = now - sendAt[seq]!;
      lastReceive = now;
      if (tally.unique === job.stallAfter && !publisherDone) stalls[i]!.pause();
      if (delivered === total && publisherDone) finish('complete');
    });
    sub.lost.catch(() => finish('subscriber-closed'));
  });

  const publisher = publishNumbered(pub.client, job, {
    onIssued: (seq, at) => (sendAt[seq] = at),
    onSettled: (seq, at, error) => {
      lastActivity = at;
      if (!error) ackLatency[ackCount++] = at - sendAt[seq]!;
    },
  });
  void publisher.done.then((end) => {
    if (end !== 'complete') return;
    publisherDone = true;
    for (const stall of stalls) stall.resume();
    if (delivered === total) finish('complete');
  });

  // A closed publisher still leaves messages on their way to the subscriber:
  // the idle timeout ends the run, and the reason says what happened first.
  let closed: RunEnd | undefined;
  const idle = setInterval(() => {
    if (performance.now() - lastActivity >= job.idleMs) finish(closed ?? 'idle');
  }, Math.min(250, job.idleMs));
  pub.lost.catch(() => (closed ??= 'publisher-closed'));
  const progressTimer = progress ? setInterval(() => progress({ published: publisher.issued, received: delivered }), 100) : undefined;

  const end = await ended;
  publisher.stop();
  clearInterval(idle);
  if (progressTimer) clearInterval(progressTimer);
  progress?.({ published: publisher.issued, received: delivered });
  for (const stall of stalls) stall.resume();

  return {
    job,
    published: publisher.issued,
    acked: ackCount,
    firstSend: sendAt[0]!,
    firstReceive: delivered > 0 ? firstReceive : 0,
    lastReceive,
    receiveLatency: receiveLatency.subarray(0, delivered),
    ackLatency: ackLatency.subarray(0, ackCount),
    accounting: sumAccounting(tallies.map((tally) => account(tally, publisher.acked))),
    end,
  };
}

/**
 * Holds the socket's writes from a read until the packets in it are handled.
 * MQTT.js handles the packets of one read one per tick and mqtt-packet uncorks
 * after each, so every acknowledgement was a write (a syscall) of its own:
 * 20,000 QoS 2 messages took 62,000 writev calls, now 8,600 (strace -c), and
 * 20 % less CPU. The bytes leave at the end of the turn, not at MQTT.js's write.
 */
function corkPerRead(client: MqttClient): void {
  const socket = client.stream;
  let corked = false;
  socket.prependListener('data', () => {
    if (corked) return;
    corked = true;
    socket.cork();
    setImmediate(() => {
      corked = false;
      socket.uncork();
    });
  });
}

/**
 * Stops and restarts reading the subscriber's socket. MQTT.js pipes the socket
 * into its parser, and a pipe resumes its source on 'drain'; so while stalled,
 * any resume is undone at once.
 */
function stallControl(client: MqttClient): { pause(): void; resume(): void } {
  let stalled = false;
  const stream = client.stream;
  const keepPaused = () => {
    if (stalled) stream.pause();
  };
  return {
    pause: () => {
      stalled = true;
      stream.on('resume', keepPaused);
      stream.pause();
    },
    resume: () => {
      if (!stalled) return;
      stalled = false;
      stream.off('resume', keepPaused);
      stream.resume();
    },
  };
}
