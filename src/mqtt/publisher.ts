// The publisher's side of a flow: publish and wait until the QoS handshake
// completes (QoS 0: written; QoS 1: PUBACK; QoS 2: PUBCOMP), never longer
// than the ack timeout.
import type { Connection } from './connection';
import { MqttError } from './errors';
import type { QoS } from './qos';
import { reasonText } from './reason-codes';
import { within } from './wait';

export interface PublishJob {
  topic: string;
  qos: QoS;
  /** Bytes as read from a file, or a text (sent as UTF-8). */
  message: string | Buffer;
  count: number;
  /** Milliseconds between two publishes. */
  interval: number;
  retain: boolean;
  /** Milliseconds to wait for each acknowledgement (PUBACK, PUBREC, PUBCOMP); default DEFAULT_ACK_TIMEOUT_MS. */
  ackTimeoutMs?: number;
}

export const DEFAULT_ACK_TIMEOUT_MS = 10_000;

/** Publishes `count` messages one flow at a time; resolves when the last flow is complete. */
export async function publishAll(conn: Connection, job: PublishJob): Promise<void> {
  for (let i = 0; i < job.count; i++) {
    // Ended from outside (Ctrl-C, SIGTERM): no further message, and no --interval timer holding the process.
    if (i > 0 && job.interval > 0 && (await within(conn.ended.then(() => true), job.interval)) !== null) return;
    await publishOne(conn, job, job.message, i, job.count);
  }
}

/**
 * Publishes each message as it comes (stdin's lines), one flow at a time,
 * until the messages end, the connection ends (Ctrl-C) or is lost.
 */
export async function publishEach(conn: Connection, job: Omit<PublishJob, 'message' | 'count' | 'interval'>, messages: AsyncIterable<Buffer>): Promise<void> {
  const source = messages[Symbol.asyncIterator]();
  const ended = conn.ended.then((): typeof ENDED => ENDED);
  try {
    for (let i = 0; ; i++) {
      // Lost while waiting for the next message: say how far the stream got, so none is taken as sent.
      const lost = conn.lost.catch((error: unknown) => {
        throw error instanceof MqttError ? error.adding(` while waiting for message ${i + 1} (${i} published before it)`) : error;
      });
      const next = await Promise.race([source.next(), ended, lost]);
      if (next === ENDED || next.done) return;
      await publishOne(conn, job, next.value, i, undefined);
    }
  } finally {
    // Stops reading the source (stdin) when we stop first.
    void source.return?.(undefined)?.catch(() => undefined);
  }
}

const ENDED = Symbol('ended');

/** One flow: message `index` of `count` (undefined: of a stream), complete within the ack timeout. */
async function publishOne(conn: Connection, job: Omit<PublishJob, 'message' | 'count' | 'interval'>, message: string | Buffer, index: number, count: number | undefined): Promise<void> {
  const ackTimeoutMs = job.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  let id: number | undefined;
  const noteId = (packet: { cmd: string; messageId?: number }) => {
    if (packet.cmd === 'publish' && id === undefined) id = packet.messageId;
  };
  conn.client.on('packetsend', noteId);
  try {
    const done = await within(Promise.race([conn.client.publishAsync(job.topic, message, { qos: job.qos, retain: job.retain }), conn.lost]), ackTimeoutMs);
    if (done === null) throw ackTimeout(conn, job.qos, ackTimeoutMs, id, index, count);
    // MQTT.js settles a QoS 2 flow on a PUBACK: the connection named the rule that broke, and that is the outcome.
    if (conn.violations.length > 0) await conn.lost;
  } catch (error) {
    throw publishError(error, index, count);
  } finally {
    conn.client.off('packetsend', noteId);
  }
}

/** `message 2 of 5`, or `message 2` of a stream. */
function nth(index: number, count: number | undefined): string {
  return count === undefined ? `message ${index + 1}` : `message ${index + 1} of ${count}`;
}

/** Names the packet that never came and what this QoS level does about it. */
function ackTimeout(conn: Connection, qos: QoS, ms: number, id: number | undefined, index: number, count: number | undefined): MqttError {
  const seconds = ms / 1000;
  const flow = id === undefined ? undefined : conn.flows.publish(id);
  const which = `${nth(index, count)}${id === undefined ? '' : ` (id=${id})`}`;
  let text: string;
  if (qos === 1) {
    text = `no PUBACK for ${which} within ${seconds} s: at QoS 1 the message may or may not have arrived; a client that reconnects with the same session resends it with DUP=1 (at least once)`;
  } else if (flow?.pubrecSeen) {
    text = `no PUBCOMP for ${which} within ${seconds} s: PUBREC came, so the broker has the message and delivers it once; our PUBREL would be resent on a reconnect with the same session`;
  } else {
    text = `no PUBREC for ${which} within ${seconds} s: at QoS 2 the message may or may not have arrived; a reconnect with the same session resends it with DUP=1, and the packet id keeps the broker from delivering it twice`;
  }
  return new MqttError('timeout', text, 'longer-ack-wait', ms);
}

function publishError(error: unknown, index: number, count: number | undefined): MqttError {
  if (error instanceof MqttError) {
    // Our own words already say which message; a lost connection gets the place it happened.
    return /^no PUB/.test(error.message) ? error : error.adding(` during ${nth(index, count)}`);
  }
  const code = (error as { code?: unknown }).code;
  const why = typeof code === 'number' ? reasonText(code) : (error as Error).message;
  return new MqttError('rejected', `the broker did not accept ${nth(index, count)}: ${why}`);
}
