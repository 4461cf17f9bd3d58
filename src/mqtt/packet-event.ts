import type { Packet } from 'mqtt-packet';

export type { Packet };

/** A connection: the publisher's (publisher-broker) or the subscriber's (broker-subscriber). */
export type Link = 'publisher' | 'subscriber';

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
