// What a broker made of several nodes hands its users (the lab, chaos, the
// broker command): the nodes, each with its own URL and a way to stop and
// start it again on the same port, and what crosses the hop between them.
import type { BrokerPacketEvent, Packet } from '../mqtt/packet-event';
import type { QoS } from '../mqtt/qos';
import type { Endpoint } from './listen';

/** One broker of several: node A (index 0) takes the publisher, node B (index 1) the subscriber. */
export interface BrokerNode extends Endpoint {
  /** `A`, `B`, `C`… */
  label: string;
  /** Stops this node alone (its clients see their connections close); the others keep running. */
  stop(): Promise<void>;
  /** What the node logged so far (mosquitto, across restarts); empty for aedes. */
  log(): string;
  /** Starts it again on the same port, with the same configuration (a fresh aedes, a new mosquitto process). */
  restart(): Promise<void>;
}

/** A packet seen by one node's tap: which node (index into nodes). */
export type NodePacketEvent = BrokerPacketEvent & { node?: number };

/** A message crossing between nodes, as it was seen: on the bridge's MQTT connection (tapped) or on redis pub/sub (a subscriber of ours). */
export interface HopEvent {
  at: number;
  /** Index of the node it left and the one it went to; `to` is null for a redis broadcast (every node that subscribed gets it). */
  from: number;
  to: number | null;
  /** The bridge's MQTT packet as it crossed, or the message aedes put on redis, as a PUBLISH. */
  packet: Packet;
}

/** How the nodes pass messages on, for headings and for the matrix's MIN(). */
export interface Hop {
  via: 'redis' | 'bridge';
  /** The bridge's QoS (mosquitto.conf `topic # both <qos>`): a third term in MIN(); none for redis. */
  qos?: QoS;
  /** e.g. `bridge B -> A at QoS 1, tapped` */
  text: string;
}
