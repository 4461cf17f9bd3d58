// The subscriber's side: subscribe, then hand each delivery to the caller with
// what the wire said about it (the QoS it came at, DUP, RETAIN) and whether it
// was queued for us while we were offline.
import type { IPublishPacket } from 'mqtt-packet';
import { CliError, EXIT } from '../cli/errors';
import type { Connection } from './connection';
import { parseQos, type QoS } from './qos';
import { reasonText } from './reason-codes';

export interface Delivery {
  topic: string;
  payload: Buffer;
  /** The QoS of the PUBLISH the broker sent us: the effective QoS. */
  qos: QoS;
  dup: boolean;
  retain: boolean;
  /** Arrived on a resumed session before our SUBACK: stored by the broker while we were away. */
  queued: boolean;
  /** Resolves when our side of the handshake is on the wire (PUBACK / PUBCOMP sent). */
  acknowledged: Promise<void>;
}

export interface Subscription {
  topic: string;
  requested: QoS;
  /** The SUBACK's return code: the granted QoS, or 0x80 and above for a refusal. */
  granted: number;
}

/**
 * Listens for deliveries from the moment CONNACK arrives. Call it inside
 * connect()'s prepare hook: a resumed session's queued messages follow CONNACK
 * immediately, before any SUBSCRIBE of ours is answered.
 */
export function collectDeliveries(client: Connection['client'], onDelivery: (delivery: Delivery) => void): void {
  let subscribed = false;
  let sessionPresent = false;
  // Queued-ness is decided when the PUBLISH arrives: a QoS 2 message reaches
  // the application only at PUBREL, which may come after our SUBACK.
  const queuedIds = new Map<number, boolean>();
  let queuedNow = false;
  client.on('packetreceive', (packet) => {
    if (packet.cmd === 'connack') sessionPresent = packet.sessionPresent;
    if (packet.cmd === 'suback') subscribed = true;
    if (packet.cmd === 'publish') {
      queuedNow = sessionPresent && !subscribed;
      if (packet.messageId !== undefined) queuedIds.set(packet.messageId, queuedNow);
    }
  });
  client.on('message', (topic, payload, packet: IPublishPacket) => {
    const qos = parseQos(packet.qos) ?? 0;
    const id = packet.messageId;
    const queued = qos === 0 || id === undefined ? queuedNow : (queuedIds.get(id) ?? false);
    if (id !== undefined) queuedIds.delete(id);
    onDelivery({
      topic,
      payload,
      qos,
      dup: Boolean(packet.dup),
      retain: Boolean(packet.retain),
      queued,
      acknowledged: qos === 0 ? Promise.resolve() : sent(client, qos === 1 ? 'puback' : 'pubcomp', id),
    });
  });
}

export async function subscribe(conn: Connection, topic: string, qos: QoS): Promise<Subscription> {
  try {
    const granted = await Promise.race([conn.client.subscribeAsync(topic, { qos }), conn.lost]);
    return { topic, requested: qos, granted: granted[0]?.qos ?? 0x80 };
  } catch (error) {
    if (error instanceof CliError) throw error;
    // MQTT.js rejects a SUBACK code of 0x80 or above with the SUBACK itself attached (error.packet).
    const code = (error as { packet?: { granted?: unknown[] } }).packet?.granted?.[0];
    const why = typeof code === 'number' ? reasonText(code) : (error as Error).message;
    throw new CliError(`the broker refused the subscription to '${topic}': ${why}`, EXIT.protocol);
  }
}

/** Resolves when this client writes `cmd` for `messageId`. */
function sent(client: Connection['client'], cmd: string, messageId: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    const onSend = (packet: { cmd: string; messageId?: number }) => {
      if (packet.cmd === cmd && packet.messageId === messageId) {
        client.off('packetsend', onSend);
        resolve();
      }
    };
    client.on('packetsend', onSend);
  });
}
