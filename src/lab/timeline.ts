// Three views of one exchange (publisher, subscriber, broker tap) merged into
// one timeline: each packet becomes one arrow, joined from the sender's and the
// receiver's record of it. Without a tap, the broker's side of each arrow is
// simply missing and the broker lane is derived from the client legs.
import type { Packet } from '../mqtt/packet-event';
import type { Leg, LegEvent } from './exchange';

/** A lane of the diagram: who sends or receives. */
export type Lane = Leg;
/** A connection: the publisher's (publisher-broker) or the subscriber's (broker-subscriber). */
export type Link = 'publisher' | 'subscriber';

export interface Arrow {
  link: Link;
  from: Lane;
  to: Lane;
  /** As the sender logged it, or the receiver when the sender's record is missing. */
  packet: Packet;
  /** performance.now() when the sender logged it going out; missing without a tap on the broker's side. */
  sentAt?: number;
  /** performance.now() when the receiver logged it coming in. */
  receivedAt?: number;
  /** Where the arrow sits in time: sent, or else received. */
  at: number;
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
  /** Whether the broker sent the message on to the subscriber at all. */
  forwarded: boolean;
  /** The id the broker chose toward the subscriber; none at QoS 0. */
  subscriberId?: number;
}

export interface Timeline {
  arrows: Arrow[];
  notes: Note[];
  /** 'tap': the broker's own records are in; 'derived': its lane comes from the two client legs. */
  broker: 'tap' | 'derived';
  messages: Correlation[];
}

export interface ClientIds {
  publisherId: string;
  subscriberId: string;
}

interface Observation {
  link: Link;
  sender: Lane;
  event: LegEvent;
}

export function buildTimeline(events: readonly LegEvent[], clients: ClientIds, notes: readonly Note[] = []): Timeline {
  const groups = new Map<string, { sent: Observation[]; received: Observation[] }>();
  let tapped = false;
  for (const event of events) {
    const link = linkOf(event, clients);
    if (!link) continue;
    if (event.leg === 'broker') tapped = true;
    const sender: Lane = event.direction === 'send' ? event.leg : event.leg === 'broker' ? link : 'broker';
    const key = `${link}:${sender}`;
    const group = groups.get(key) ?? { sent: [], received: [] };
    groups.set(key, group);
    (event.direction === 'send' ? group.sent : group.received).push({ link, sender, event });
  }
  const arrows: Arrow[] = [];
  for (const { sent, received } of groups.values()) arrows.push(...pairUp(byTime(sent), byTime(received)));
  arrows.sort((a, b) => a.at - b.at);
  return {
    arrows,
    notes: [...notes].sort((a, b) => a.at - b.at),
    broker: tapped ? 'tap' : 'derived',
    messages: correlate(arrows),
  };
}

function linkOf(event: LegEvent, clients: ClientIds): Link | null {
  if (event.leg !== 'broker') return event.leg;
  if (event.clientId === clients.publisherId) return 'publisher';
  if (event.clientId === clients.subscriberId) return 'subscriber';
  return null;
}

function byTime(list: Observation[]): Observation[] {
  return [...list].sort((a, b) => a.event.at - b.event.at);
}

/**
 * TCP keeps order within one direction of one connection, so the sender's
 * n-th packet is the receiver's n-th; a type mismatch (a record missing on one
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
      arrows.push(arrow(s, s.event.at, r.event.at));
      i++;
      j++;
    } else if (s && (!r || s.event.at <= r.event.at)) {
      arrows.push(arrow(s, s.event.at, undefined));
      i++;
    } else if (r) {
      arrows.push(arrow(r, undefined, r.event.at));
      j++;
    }
  }
  return arrows;
}

function arrow(o: Observation, sentAt: number | undefined, receivedAt: number | undefined): Arrow {
  const to: Lane = o.sender === 'broker' ? o.link : 'broker';
  return { link: o.link, from: o.sender, to, packet: o.event.packet, sentAt, receivedAt, at: sentAt ?? receivedAt ?? o.event.at };
}

/** Pairs each PUBLISH on the publisher's leg with the PUBLISH the broker sent on, by topic and payload. */
export function correlate(arrows: readonly Arrow[]): Correlation[] {
  const outgoing = arrows.filter((a) => a.link === 'subscriber' && a.packet.cmd === 'publish');
  const result: Correlation[] = [];
  for (const a of arrows) {
    if (a.link !== 'publisher' || a.packet.cmd !== 'publish') continue;
    const { topic, payload } = a.packet;
    const k = outgoing.findIndex((o) => o.packet.cmd === 'publish' && o.packet.topic === topic && sameBytes(o.packet.payload, payload));
    const match = k >= 0 ? outgoing.splice(k, 1)[0] : undefined;
    result.push({ topic, publisherId: idOf(a.packet), forwarded: match !== undefined, subscriberId: match && idOf(match.packet) });
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
