// What one exchange records, shared by the exchange that records it and the
// timeline that draws it: the packets each lane (a client, the broker's tap) logged, and the fault relay's log.
import type { PacketEvent } from '../mqtt/packet-event';
import type { RelayCutEvent, RelayPacketEvent } from '../wire/relay';

export type Lane = 'publisher' | 'broker' | 'subscriber';

export interface LaneEvent extends PacketEvent {
  /** Who logged it: a client, or the broker's tap. */
  lane: Lane;
  /** For broker events: the client on the other end of that connection. */
  clientId?: string;
  /** For broker events across several brokers: which node's tap (0 = A). */
  node?: number;
}

/** What the fault relay on the publisher's connection reported: its cuts and the packets it swallowed. */
export interface ProxyLog {
  cuts: RelayCutEvent[];
  dropped: RelayPacketEvent[];
}
