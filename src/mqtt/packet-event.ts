import type { Packet } from 'mqtt-packet';

export type { Packet };

/** A connection: the publisher's (publisher-broker) or the subscriber's (broker-subscriber). */
export type Leg = 'publisher' | 'subscriber';

/** Which way a packet crossed the wire, seen from the side that logged it. */
export type Direction = 'send' | 'receive';

/** One packet as MQTT.js (or the broker tap) saw it go out or come in. */
export interface PacketEvent {
  /** Milliseconds since the process started (performance.now()), for ordering and latency. */
  at: number;
  direction: Direction;
  packet: Packet;
}

/** A packet seen by the broker on one client's connection. */
export interface BrokerPacketEvent extends PacketEvent {
  /** The client id from that connection's CONNECT, or '?' before it. */
  clientId: string;
}

/**
 * A deep copy of a packet as it is now. MQTT.js mutates packet objects after
 * reporting them (it writes the granted QoS into a SUBSCRIBE's subscriptions
 * when the SUBACK comes, resolves topic aliases in place): whoever shows a
 * packet later must see it as it crossed. Buffers stay Buffers.
 */
export function snapshot<T>(value: T): T {
  if (Buffer.isBuffer(value)) return Buffer.from(value) as T;
  if (Array.isArray(value)) return value.map(snapshot) as T;
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) copy[key] = snapshot(field);
    return copy as T;
  }
  return value;
}
