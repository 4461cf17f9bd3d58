// The measured loop for one QoS level: a subscriber and a publisher on their own
// connections (the project's connection helper), N numbered messages with at
// most `window` unacknowledged, and a record of when each was published,
// acknowledged and delivered. It ends when every message has arrived and been
// acknowledged, or when nothing has happened for `idleMs` (a broker that drops messages, a stalled
// subscriber), so loss is reported instead of waited on forever.
import type { MqttClient } from 'mqtt';
import { performance } from 'node:perf_hooks';
import { MqttError } from '../mqtt/errors';
import { connect, type Connection, type ConnectionSettings, type PacketListener, type ProtocolVersion } from '../mqtt/connection';
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
  /** Client id prefix; the run appends -pub / -sub. */
  clientId: string;
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
  /** Publish → delivery, one per distinct message delivered (ms). */
  receiveLatency: Float64Array;
  /** Publish → PUBACK/PUBCOMP (QoS 1/2) or → written (QoS 0), per acknowledged message (ms). */
  ackLatency: Float64Array;
  accounting: Accounting;
  end: RunEnd;
}

export interface RunProgress {
  published: number;
  received: number;
}

const NO_PACKETS: PacketListener = () => undefined;

export async function measureLevel(job: RunJob, progress?: (p: RunProgress) => void): Promise<RunSamples> {
  const onPacket = (client: Leg) => job.onPacket?.(client) ?? NO_PACKETS;
  const base = { ...job.connection, url: job.url, clean: true, protocol: job.protocol ?? 4 };
  const answerMs = job.answerMs ?? LIMITS.answerMs;
  const sub = await connect({ ...base, url: job.subUrl ?? job.url, clientId: `${job.clientId}-sub`, connectTimeoutMs: answerMs }, onPacket('subscriber'));
  let pub: Connection | undefined;
  try {
    const { granted } = await subscribe(sub, job.topic, job.qos, answerMs, null);
    // A bench at a QoS the broker will not deliver at would measure another level.
    if (granted !== job.qos) throw new MqttError('rejected', `the broker granted ${granted >= 0x80 ? 'no subscription' : `QoS ${granted}`} to a QoS ${job.qos} bench subscriber`);
    pub = await connect({ ...base, clientId: `${job.clientId}-pub`, connectTimeoutMs: answerMs }, onPacket('publisher'));
    return await measure(job, pub, sub, progress);
  } finally {
    // Bounded: against a broker that never acknowledges, the DISCONNECT would wait for ever (the report was printed, the process never exited).
    await Promise.all([pub?.end(Math.min(answerMs, END_GRACE_MS)), sub.end(Math.min(answerMs, END_GRACE_MS))]);
  }
}

async function measure(job: RunJob, pub: Connection, sub: Connection, progress?: (p: RunProgress) => void): Promise<RunSamples> {
  const { count } = job;
  const sendAt = new Float64Array(count);
  const receiveLatency = new Float64Array(count);
  const ackLatency = new Float64Array(count);
  const tally = newTally(count);
  let ackCount = 0;
  let firstReceive = 0;
  let lastReceive = 0;
  let lastActivity = performance.now();
  let publisherDone = false;

  let finish: (end: RunEnd) => void = () => undefined;
  const ended = new Promise<RunEnd>((resolve) => (finish = resolve));
  const stall = stallControl(sub.client);

  sub.client.on('message', (_topic, payload: Buffer) => {
    const now = performance.now();
    lastActivity = now;
    const seq = seqOf(payload);
    // record() counts every delivery, a foreign one too; only a first arrival of a number goes on.
    if (!record(tally, seq) || seq === null) return;
    if (tally.unique === 1) firstReceive = now;
    receiveLatency[tally.unique - 1] = now - sendAt[seq]!;
    lastReceive = now;
    if (tally.unique === job.stallAfter && !publisherDone) stall.pause();
    if (tally.unique === count && publisherDone) finish('complete');
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
    stall.resume();
    if (tally.unique === count) finish('complete');
  });

  // A closed publisher still leaves messages on their way to the subscriber:
  // the idle timeout ends the run, and the reason says what happened first.
  let closed: RunEnd | undefined;
  const idle = setInterval(() => {
    if (performance.now() - lastActivity >= job.idleMs) finish(closed ?? 'idle');
  }, Math.min(250, job.idleMs));
  pub.lost.catch(() => (closed ??= 'publisher-closed'));
  sub.lost.catch(() => finish('subscriber-closed'));
  const progressTimer = progress ? setInterval(() => progress({ published: publisher.issued, received: tally.unique }), 100) : undefined;

  const end = await ended;
  publisher.stop();
  clearInterval(idle);
  if (progressTimer) clearInterval(progressTimer);
  progress?.({ published: publisher.issued, received: tally.unique });
  stall.resume();

  return {
    job,
    published: publisher.issued,
    acked: ackCount,
    firstSend: sendAt[0]!,
    firstReceive,
    lastReceive,
    receiveLatency: receiveLatency.subarray(0, tally.unique),
    ackLatency: ackLatency.subarray(0, ackCount),
    accounting: account(tally, publisher.acked),
    end,
  };
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
