// What one exchange records, shared by the exchange that records it and the
// timeline that draws it: the packets each leg saw, and the fault relay's log.
import type { PacketEvent } from '../mqtt/packet-event';
import type { RelayCutEvent, RelayPacketEvent } from '../wire/relay';

export type Leg = 'publisher' | 'broker' | 'subscriber';

export interface LegEvent extends PacketEvent {
  leg: Leg;
  /** For broker events: the client on the other end of that connection. */
  clientId?: string;
}

/** What the fault relay on the publisher's connection reported: its cuts and the packets it swallowed. */
export interface ProxyLog {
  cuts: RelayCutEvent[];
  dropped: RelayPacketEvent[];
}
