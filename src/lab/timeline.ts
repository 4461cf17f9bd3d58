// Three views of one exchange (publisher, subscriber, broker tap) merged into
// one timeline: each packet becomes one arrow, joined from the sender's and the
// receiver's record of it. Without a tap, the broker's side of each arrow is
// simply missing and the broker lane is derived from the client legs. With a
// fault proxy on the publisher's connection, its cuts and the packet it
// swallowed come in too: a packet sent and never received is shown as lost.
//
// One clock: arrows of different connections are ordered by what the broker
// tap saw (its receive time for a client's packet, its send time for the
// broker's), the one observer both legs share; without a tap, by the time the
// client that logged each arrow saw it. Within one connection and one
// direction the order is always the order on the wire (TCP keeps it).
import type { Leg, Packet } from '../mqtt/packet-event';
import type { QoS } from '../mqtt/qos';
import type { Lane, LaneEvent, ProxyLog } from './lanes';

export interface Arrow {
  leg: Leg;
  from: Lane;
  to: Lane;
  /** As the broker tap parsed it from the bytes, else as the sender logged it, else the receiver. */
  packet: Packet;
  /** performance.now() when the sender logged it going out; missing without a tap on the broker's side. */
  sentAt?: number;
  /** performance.now() when the receiver logged it coming in. */
  receivedAt?: number;
  /** Where the arrow sits in time: when the broker tap saw it; without a tap record, sent, or else received, or else when the fault proxy saw it. */
  at: number;
  /** The records joined into this arrow: the sender's, then the receiver's (none for the fault proxy's record of a swallowed packet). */
  records: LaneEvent[];
  /** Which connection of its leg, counting from 1: a reconnect starts the next one. */
  connection: number;
  /** The fault proxy swallowed it: sent, never received. */
  lost?: boolean;
}

/** The fault proxy cut a connection: `reason` is e.g. `before puback`. */
export interface Cut {
  at: number;
  leg: Leg;
  reason: string;
}

/** Something a lane observed that is not a packet, e.g. MQTT.js handing the message to the application. */
export interface Note {
  at: number;
  lane: Lane;
  text: string;
}

/** One message's packet ids: the publisher's on its leg, the broker's toward the subscriber. */
export interface Correlation {
  topic: string;
  /** The publisher's id; none at QoS 0. */
  publisherId?: number;
  /** The publisher's PUBLISH carried DUP=1: a resend after a cut. */
  resent?: boolean;
  /** Whether the broker sent the message on to the subscriber at all. */
  forwarded: boolean;
  /** The id the broker chose toward the subscriber; none at QoS 0. */
  subscriberId?: number;
}

/**
 * Across two brokers (--pub-broker/--sub-broker, aedes-cluster,
 * mosquitto-bridge): the publisher's leg ends at node A, the subscriber's at
 * node B, and what crossed between them, where it could be seen.
 */
export interface Across {
  /** Who each leg's broker end is, e.g. `A` and `B`. */
  nodes: { publisher: string; subscriber: string };
  /** How the hop was seen: `bridge tap` (the bridge's own MQTT packets), `redis` (a redis subscriber of ours), or null: not observed. */
  hopSeenBy: 'bridge tap' | 'redis' | null;
  /** The hop's packets, in the order seen; empty when not observed. */
  hops: HopArrow[];
  /** The bridge's QoS: the third term of MIN(); absent where the hop keeps the publisher's QoS (redis). */
  bridgeQos?: QoS;
}

/** A packet between the two nodes: toward B (`down`, A's message on its way to the subscriber) or back toward A (`up`: the bridge's acknowledgements). */
export interface HopArrow {
  at: number;
  toward: 'subscriber-node' | 'publisher-node';
  packet: Packet;
  /** A redis message reaches every node that subscribed, not B alone. */
  broadcast: boolean;
}

export interface Timeline {
  arrows: Arrow[];
  /** Two brokers: the nodes and the hop between them; absent for one broker. */
  across?: Across;
  notes: Note[];
  /** 'tap': the broker's own records are in; 'derived': its lane comes from the two client legs. */
  broker: 'tap' | 'derived';
  messages: Correlation[];
  /** Connections the fault proxy cut; empty without --fault. */
  cuts: Cut[];
}

export interface ClientIds {
  publisherId: string;
  subscriberId: string;
}

interface Observation {
  leg: Leg;
  sender: Lane;
  connection: number;
  event: LaneEvent;
}

export function buildTimeline(events: readonly LaneEvent[], clients: ClientIds, notes: readonly Note[] = [], proxy: ProxyLog | null = null, across?: Across): Timeline {
  const groups = new Map<string, { sent: Observation[]; received: Observation[] }>();
  // Each end counts the CONNECTs it saw on a leg: after a reconnect both ends are on connection n+1.
  const connections = new Map<string, number>();
  let tapped = false;
  for (const event of [...events].sort((a, b) => a.at - b.at)) {
    const leg = legOf(event, clients);
    if (!leg) continue;
    if (event.lane === 'broker') tapped = true;
    const counter = `${leg}:${event.lane}`;
    if (event.packet.cmd === 'connect') connections.set(counter, (connections.get(counter) ?? 0) + 1);
    const connection = connections.get(counter) ?? 1;
    const sender: Lane = event.direction === 'send' ? event.lane : event.lane === 'broker' ? leg : 'broker';
    const key = `${leg}:${sender}:${connection}`;
    const group = groups.get(key) ?? { sent: [], received: [] };
    groups.set(key, group);
    (event.direction === 'send' ? group.sent : group.received).push({ leg, sender, connection, event });
  }
  // Each group is one connection, one direction: its arrows are already in wire order.
  const sequences = [...groups.values()].map(({ sent, received }) => pairUp(sent, received));
  const lost = proxy ? markLost(sequences.flat(), proxy, tapped) : [];
  const arrows = mergeByTime([...sequences, ...lost.map((a) => [a])]);
  return {
    arrows,
    notes: [...notes].sort((a, b) => a.at - b.at),
    broker: tapped ? 'tap' : 'derived',
    messages: correlate(arrows),
    cuts: (proxy?.cuts ?? []).map((cut) => ({ at: cut.at, leg: 'publisher', reason: cut.reason })),
    ...(across && { across: { ...across, hops: [...across.hops].sort((a, b) => a.at - b.at) } }),
  };
}

/**
 * Merges sequences that are each in wire order into one, by `at`, never
 * reordering within a sequence (a sequence whose times disagree with its order
 * keeps its order).
 */
function mergeByTime(sequences: Arrow[][]): Arrow[] {
  const next = sequences.map(() => 0);
  const merged: Arrow[] = [];
  for (;;) {
    let best = -1;
    for (let k = 0; k < sequences.length; k++) {
      const head = sequences[k]![next[k]!];
      if (head && (best < 0 || head.at < sequences[best]![next[best]!]!.at)) best = k;
    }
    if (best < 0) return merged;
    merged.push(sequences[best]![next[best]!++]!);
  }
}

/** Something drawn on a timeline beside the arrows: a note, a cut, a proxy record. */
export interface Timed {
  at: number;
}

/**
 * The arrows in their order with other timed things slotted in: each goes
 * before the first arrow that comes later than it. Every view (diagram,
 * Mermaid, trace) draws from this one order.
 */
export function interleave<T extends Timed>(arrows: readonly Arrow[], others: readonly T[]): ({ arrow: Arrow } | { other: T })[] {
  const rest = [...others].sort((a, b) => a.at - b.at);
  const steps: ({ arrow: Arrow } | { other: T })[] = [];
  for (const arrow of arrows) {
    while (rest.length && rest[0]!.at < arrow.at) steps.push({ other: rest.shift()! });
    steps.push({ arrow });
  }
  for (const other of rest) steps.push({ other });
  return steps;
}

/**
 * The proxy knows which packet it swallowed: the sender's one-sided arrow for
 * it becomes a lost arrow; without a tap (nobody logged it leaving the broker)
 * the proxy's own record of it is the arrow. A timer cut can strand a packet
 * too: on a cut connection, a packet sent and not logged by a receiver that
 * logs everything (the publisher; the broker when tapped) never arrived.
 */
function markLost(arrows: readonly Arrow[], proxy: ProxyLog, tapped: boolean): Arrow[] {
  const extra: Arrow[] = [];
  for (const event of proxy.dropped) {
    const from: Lane = event.direction === 'send' ? 'broker' : 'publisher';
    const found = arrows.find(
      (a) => a.leg === 'publisher' && a.from === from && a.connection === event.connection && a.packet.cmd === event.packet.cmd && a.receivedAt === undefined && !a.lost,
    );
    if (found) found.lost = true;
    else extra.push({ leg: 'publisher', from, to: from === 'broker' ? 'publisher' : 'broker', packet: event.packet, at: event.at, connection: event.connection, lost: true, records: [] });
  }
  const cut = new Set(proxy.cuts.map((c) => c.connection));
  for (const a of arrows) {
    if (a.leg === 'publisher' && cut.has(a.connection) && a.sentAt !== undefined && a.receivedAt === undefined && (a.to === 'publisher' || tapped)) a.lost = true;
  }
  return extra;
}

function legOf(event: LaneEvent, clients: ClientIds): Leg | null {
  if (event.lane !== 'broker') return event.lane;
  if (event.clientId === clients.publisherId) return 'publisher';
  if (event.clientId === clients.subscriberId) return 'subscriber';
  return null;
}

/**
 * TCP keeps order within one direction of one connection, so the sender's
 * n-th packet on a connection is the receiver's n-th (a swallowed packet ends
 * that connection, so nothing after it is misjoined); a type mismatch (a record missing on one
 * side) leaves the earlier one as a one-sided arrow.
 */
function pairUp(sent: Observation[], received: Observation[]): Arrow[] {
  const arrows: Arrow[] = [];
  let i = 0;
  let j = 0;
  while (i < sent.length || j < received.length) {
    const s = sent[i];
    const r = received[j];
    if (s && r && s.event.packet.cmd === r.event.packet.cmd) {
      arrows.push(arrow(s, s, r));
      i++;
      j++;
    } else if (s && (!r || s.event.at <= r.event.at)) {
      arrows.push(arrow(s, s, undefined));
      i++;
    } else if (r) {
      arrows.push(arrow(r, undefined, r));
      j++;
    }
  }
  return arrows;
}

function arrow(o: Observation, sent: Observation | undefined, received: Observation | undefined): Arrow {
  const to: Lane = o.sender === 'broker' ? o.leg : 'broker';
  const records = [sent?.event, received?.event].filter((e): e is LaneEvent => e !== undefined);
  // The tap parsed the bytes themselves: its packet is the wire's, and its time is the one clock both legs share.
  const tap = records.find((e) => e.lane === 'broker');
  const sentAt = sent?.event.at;
  const receivedAt = received?.event.at;
  return { leg: o.leg, from: o.sender, to, packet: (tap ?? o.event).packet, sentAt, receivedAt, at: tap?.at ?? sentAt ?? receivedAt ?? o.event.at, connection: o.connection, records };
}

/** Pairs each PUBLISH on the publisher's leg with the PUBLISH the broker sent on, by topic and payload. */
function correlate(arrows: readonly Arrow[]): Correlation[] {
  const outgoing = arrows.filter((a) => a.leg === 'subscriber' && a.packet.cmd === 'publish');
  const result: Correlation[] = [];
  for (const a of arrows) {
    if (a.leg !== 'publisher' || a.packet.cmd !== 'publish') continue;
    const { topic, payload } = a.packet;
    const k = outgoing.findIndex((o) => o.packet.cmd === 'publish' && o.packet.topic === topic && sameBytes(o.packet.payload, payload));
    const match = k >= 0 ? outgoing.splice(k, 1)[0] : undefined;
    const resent = a.packet.dup ? { resent: true } : {};
    result.push({ topic, publisherId: idOf(a.packet), ...resent, forwarded: match !== undefined, subscriberId: match && idOf(match.packet) });
  }
  for (const o of outgoing) if (o.packet.cmd === 'publish') result.push({ topic: o.packet.topic, forwarded: true, subscriberId: idOf(o.packet) });
  return result;
}

/** A PUBLISH carries a message id only at QoS 1 and 2 (MQTT.js leaves 0 or a stale id on a QoS 0 packet object). */
function idOf(packet: Packet): number | undefined {
  return packet.cmd === 'publish' && packet.qos > 0 ? packet.messageId : undefined;
}

function sameBytes(a: Buffer | string, b: Buffer | string): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}
