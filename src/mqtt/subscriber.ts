// The subscriber's side: subscribe, then hand each delivery to the caller with
// what the wire said about it (the QoS it came at, DUP, RETAIN) and whether it
// was queued for us while we were offline.
import type { IPublishPacket } from 'mqtt-packet';
import { onWire, type Connection } from './connection';
import { MqttError } from './errors';
import { DEFAULT_ACK_TIMEOUT_MS } from './publisher';
import { parseQos, type QoS } from './qos';
import { reasonText } from './reason-codes';
import { within } from './wait';

export interface Delivery {
  topic: string;
  payload: Buffer;
  /** The QoS of the PUBLISH the broker sent us: the effective QoS. */
  qos: QoS;
  /** The PUBLISH's packet id (QoS 1 and 2). */
  messageId?: number;
  dup: boolean;
  retain: boolean;
  /** Arrived on a resumed session before our SUBACK: stored by the broker while we were away. */
  queued: boolean;
  /**
   * Possibly a second copy: DUP=1, or the same id, topic and payload as the
   * message before it under that id (QoS 1 is at least once).
   */
  secondCopy: boolean;
  /** Resolves when our side of the handshake is on the wire (PUBACK / PUBCOMP sent). */
  acknowledged: Promise<void>;
}

/** A PUBLISH that came after stop(): not handed on, and acknowledged only if its handshake was already under way. */
export interface Refused {
  topic: string;
  qos: QoS;
  messageId?: number;
  /** True for a QoS 2 message whose PUBREC went out before stop(): MQTT.js completes that handshake. */
  acknowledged: boolean;
}

export interface Subscription {
  topic: string;
  requested: QoS;
  /** The SUBACK's return code: the granted QoS, or 0x80 and above for a refusal. */
  granted: number;
}

export interface Collector {
  /** From now on, PUBLISHes are not handed on and not acknowledged (each goes to onRefused). */
  stop(): void;
}

/**
 * Listens for deliveries from the moment CONNACK arrives. Call it inside
 * connect()'s prepare hook: a resumed session's queued messages follow CONNACK
 * immediately, before any SUBSCRIBE of ours is answered.
 */
export function collectDeliveries(client: Connection['client'], onDelivery: (delivery: Delivery) => void, onRefused: (refused: Refused) => void = () => undefined): Collector {
  let subscribed = false;
  let sessionPresent = false;
  let stopped = false;
  // Queued-ness is decided when the PUBLISH arrives: a QoS 2 message reaches
  // the application only at PUBREL, which may come after our SUBACK.
  const queuedIds = new Map<number, boolean>();
  let queuedNow = false;
  // The last message under each id, to tell a second copy sent without DUP=1.
  const lastById = new Map<number, { topic: string; payload: Buffer }>();
  client.on('packetreceive', (packet) => {
    if (packet.cmd === 'connack') sessionPresent = packet.sessionPresent;
    if (packet.cmd === 'suback') subscribed = true;
    if (packet.cmd === 'publish') {
      queuedNow = sessionPresent && !subscribed;
      if (packet.messageId !== undefined) queuedIds.set(packet.messageId, queuedNow);
    }
  });
  // MQTT.js asks this before it acknowledges a QoS 1 or 2 PUBLISH: once stopped, say no,
  // so nothing is acknowledged that was not handed on (a persistent session keeps it for next time).
  client.options.customHandleAcks = (topic, _message, packet, done) => {
    if (!stopped) return done(0);
    onRefused({ topic, qos: parseQos(packet.qos) ?? 0, messageId: packet.messageId, acknowledged: false });
    done(new Error('not acknowledged: the subscriber has stopped taking messages'));
  };
  client.on('message', (topic, payload, packet: IPublishPacket) => {
    const qos = parseQos(packet.qos) ?? 0;
    const id = packet.messageId;
    if (stopped) {
      onRefused({ topic, qos, messageId: id, acknowledged: qos === 2 });
      return;
    }
    const queued = qos === 0 || id === undefined ? queuedNow : (queuedIds.get(id) ?? false);
    if (id !== undefined) queuedIds.delete(id);
    const before = id === undefined ? undefined : lastById.get(id);
    const same = before !== undefined && before.topic === topic && before.payload.equals(payload);
    if (id !== undefined) lastById.set(id, { topic, payload });
    onDelivery({
      topic,
      payload,
      qos,
      ...(id !== undefined && { messageId: id }),
      dup: Boolean(packet.dup),
      retain: Boolean(packet.retain),
      queued,
      secondCopy: Boolean(packet.dup) || same,
      acknowledged: qos === 0 ? Promise.resolve() : sent(client, qos === 1 ? 'puback' : 'pubcomp', id),
    });
  });
  return { stop: () => (stopped = true) };
}

/**
 * SUBSCRIBE, and its SUBACK within `ackTimeoutMs`. `remedy` is the hint the
 * caller's command can give for a wait that ran out (the tools: a longer
 * --ack-timeout); none for commands whose bound is not a flag.
 */
export async function subscribe(conn: Connection, topic: string, qos: QoS, ackTimeoutMs = DEFAULT_ACK_TIMEOUT_MS, remedy: 'longer-ack-wait' | null = 'longer-ack-wait'): Promise<Subscription> {
  const [subscription] = await subscribeAll(conn, [topic], qos, ackTimeoutMs, remedy);
  return subscription!;
}

/**
 * One SUBSCRIBE for all `topics` (as mosquitto_sub -t a -t b sends), each
 * topic's code from the one SUBACK. Some refused is a result (their codes say
 * so); all refused is an error.
 */
export async function subscribeAll(conn: Connection, topics: readonly string[], qos: QoS, ackTimeoutMs = DEFAULT_ACK_TIMEOUT_MS, remedy: 'longer-ack-wait' | null = 'longer-ack-wait'): Promise<Subscription[]> {
  const named = topics.map((t) => `'${t}'`).join(', ');
  const result = (granted: readonly unknown[]) => topics.map((topic, i) => ({ topic, requested: qos, granted: typeof granted[i] === 'number' ? (granted[i] as number) : 0x80 }));
  try {
    const granted = await within(Promise.race([conn.client.subscribeAsync([...topics], { qos }), conn.lost]), ackTimeoutMs);
    if (granted === null) {
      const seconds = ackTimeoutMs / 1000;
      throw new MqttError('timeout', `no SUBACK for our SUBSCRIBE to ${named} within ${seconds} s: the subscription may or may not be in place on the broker`, remedy ?? undefined, ackTimeoutMs);
    }
    if (conn.violations.length > 0) await conn.lost;
    return result(granted.map((g) => g.qos));
  } catch (error) {
    if (error instanceof MqttError) throw error;
    if (!conn.client.connected) {
      // MQTT.js fails a pending SUBSCRIBE with "Connection closed" before `lost` hears of the close: say what happened.
      const why = await within(conn.lost.catch((lost: unknown) => lost), 0);
      throw why ?? new MqttError('lost', `the broker at ${conn.brokerName} closed the connection before its SUBACK for ${named}`);
    }
    // MQTT.js rejects a SUBACK with any code of 0x80 or above, the SUBACK itself attached (error.packet).
    const granted = (error as { packet?: { granted?: unknown[] } }).packet?.granted;
    if (granted && granted.some((code) => typeof code === 'number' && code < 0x80)) return result(granted);
    const code = granted?.[0];
    const why = typeof code === 'number' ? reasonText(code) : (error as Error).message;
    throw new MqttError('rejected', `the broker refused the subscription to ${named}: ${why}`);
  }
}

/** MQTT topic filter matching: `+` one level, `#` the rest. */
export function matchesFilter(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return !(i === 0 && topic.startsWith('$'));
    if (i >= t.length) return false;
    if (f[i] === '+' ? i === 0 && topic.startsWith('$') : f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Resolves when this client's `cmd` for `messageId` is on the wire (an ack written into a closed stream never is). */
function sent(client: Connection['client'], cmd: string, messageId: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    const off = onWire(client, (event) => {
      if (event.direction === 'send' && event.packet.cmd === cmd && event.packet.messageId === messageId) {
        off();
        resolve();
      }
    });
  });
}
