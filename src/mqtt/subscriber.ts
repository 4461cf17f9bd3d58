// The subscriber's side: subscribe, then hand each delivery to the caller with
// what the wire said about it (the QoS it came at, DUP, RETAIN) and whether it
// was queued for us while we were offline.
import type { IPublishPacket } from 'mqtt-packet';
import { CliError, EXIT } from '../cli/errors';
import type { Connection } from './connection';
import { parseQos, type QoS } from './qos';
import { reasonName } from './reason-codes';

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
export function collectDeliveries(client: Connection['client'], onDelivery: (delivery: Delivery) => void): { subscribed(): void } {
  let subscribed = false;
  let sessionPresent = false;
  client.on('connect', (connack) => {
    sessionPresent = connack.sessionPresent;
  });
  client.on('message', (topic, payload, packet: IPublishPacket) => {
    const qos = parseQos(packet.qos) ?? 0;
    onDelivery({
      topic,
      payload,
      qos,
      dup: Boolean(packet.dup),
      retain: Boolean(packet.retain),
      queued: sessionPresent && !subscribed,
      acknowledged: qos === 0 ? Promise.resolve() : sent(client, qos === 1 ? 'puback' : 'pubcomp', packet.messageId),
    });
  });
  return {
    subscribed: () => {
      subscribed = true;
    },
  };
}

export async function subscribe(conn: Connection, topic: string, qos: QoS): Promise<Subscription> {
  try {
    const granted = await Promise.race([conn.client.subscribeAsync(topic, { qos }), conn.lost]);
    return { topic, requested: qos, granted: granted[0]?.qos ?? 0x80 };
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as { code?: unknown }).code;
    const why = typeof code === 'number' ? `${reasonName(code)} (0x${code.toString(16)})` : (error as Error).message;
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
