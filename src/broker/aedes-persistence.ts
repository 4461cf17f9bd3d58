// The embedded broker's session store: aedes 1.2's own memory persistence
// (aedes-persistence 11) and an authorizeForward hook, so that a persistent
// (clean=false) session gets what MQTT 3.1.1 promises it. Each fix below is one
// thing aedes 1.2 gets wrong, seen on the wire in
// test/integration/aedes-exactly-once.test.ts (whose plain-aedes tests fail
// once aedes no longer does it; then the fix can go):
// - a PUBREL is stored under its own packet id (it renamed another one: QoS 2
//   messages lost and duplicated);
// - a stored PUBLISH that was written to an earlier connection is resent with
//   DUP=1 [MQTT-3.3.1-1] (aedes resends the flag the publisher sent);
// - a resumed session gets its stored queue first and newer messages after it
//   (aedes restores the subscriptions before it resends the queue, so new
//   messages went out between the old ones);
// - an entry completed while the queue is being resent is skipped (aedes
//   called it a client error, "no such packet", and closed the connection);
// - a PUBLISH goes out at no more than the QoS its subscription was granted
//   [MQTT-3.8.4-6] (aedes lowers it only for a filter without wildcards that
//   equals the topic, and never when it resends a stored queue).
// The store's data and aedes are untouched; what aedes writes is aedes's own
// packet, with at most its DUP flag and QoS changed.
import { Readable } from 'node:stream';
import type { AedesOptions, Client } from 'aedes';
import memoryPersistence from 'aedes-persistence';
import { matchesFilter } from '../mqtt/subscriber';

/** The fields of an outgoing packet that aedes and its memory store use. */
interface OutgoingPacket {
  cmd: string;
  topic?: string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
}

/** What aedes 1.x calls on its persistence for outgoing packets (promises: the package's types still show callbacks). */
interface Outgoing {
  outgoingUpdate(client: Client, packet: OutgoingPacket): Promise<void>;
  outgoingClearMessageId(client: Client, packet: OutgoingPacket): Promise<OutgoingPacket | undefined>;
  outgoingStream(client: Client): Readable;
}

/** aedes keeps a client's subscriptions here (not in its types): topic filter → granted QoS. */
interface Subscribed {
  subscriptions?: Record<string, { qos: number }>;
}

export interface SessionStore {
  persistence: ReturnType<typeof memoryPersistence>;
  authorizeForward: NonNullable<AedesOptions['authorizeForward']>;
}

/** Not a broker id (those are UUIDs): the brokerId of the PUBRELs we store, each with its packet id as brokerCounter. */
const PUBREL = 'pubrel';

/** How aedes tells one stored message from another: the broker's own id and counter, not the packet id. */
const keyOf = (p: OutgoingPacket) => `${p.brokerId}/${p.brokerCounter}`;

/** One connection of a persistent session, from its CONNECT until its stored queue has been resent. */
class Resume {
  /** The stored entries the resend has handed to aedes. */
  readonly handed = new Set<string>();
  /** Of those, the ones aedes has passed back to outgoingUpdate: it writes each right after that. */
  private readonly updated = new Set<string>();
  /** New messages held back for the resend so far; one held back during a pass means another pass. */
  heldBack = 0;
  done = false;
  private caughtUp?: () => void;

  noteUpdated(key: string): void {
    if (!this.handed.has(key)) return;
    this.updated.add(key);
    if (this.updated.size === this.handed.size) this.caughtUp?.();
  }

  /** Resolves once every handed entry has reached outgoingUpdate (never, if the connection drops first). */
  allUpdated(): Promise<void> {
    if (this.updated.size === this.handed.size) return Promise.resolve();
    return new Promise((resolve) => (this.caughtUp = resolve));
  }
}

export function sessionStore(): SessionStore {
  const persistence = memoryPersistence();
  const store = persistence as unknown as Outgoing;
  const inner = {
    update: store.outgoingUpdate.bind(store),
    clear: store.outgoingClearMessageId.bind(store),
    stream: store.outgoingStream.bind(store),
  };
  const resumes = new WeakMap<Client, Resume>();
  const resumeOf = (client: Client): Resume => {
    let r = resumes.get(client);
    if (!r) resumes.set(client, (r = new Resume()));
    return r;
  };
  /** Live deliveries held back: aedes then clears them by packet id, which they do not have yet. */
  const held = new WeakSet<OutgoingPacket>();
  /** Resends whose entry was completed meanwhile: nothing to write, nothing to clear. */
  const stale = new WeakSet<OutgoingPacket>();

  /**
   * The resend of a resumed session's queue, in the store's order. The store's
   * stream is a snapshot; messages that arrive while it is resent are held
   * back (authorizeForward) and taken in a further pass, until a pass finds
   * nothing new and nothing was held back since it began.
   */
  async function* resend(client: Client, r: Resume): AsyncGenerator<OutgoingPacket> {
    for (let pass = 0; ; pass++) {
      const heldBack = r.heldBack;
      let fresh = 0;
      for await (const entry of inner.stream(client) as AsyncIterable<OutgoingPacket>) {
        const key = keyOf(entry);
        // After the first pass only messages that arrived during the resend are new: never sent, no packet id.
        if (r.handed.has(key) || (pass > 0 && (entry.cmd !== 'publish' || entry.messageId !== undefined))) continue;
        r.handed.add(key);
        fresh++;
        yield entry.cmd === 'publish' ? asResent(client, entry) : entry;
      }
      if (fresh > 0) continue;
      await r.allUpdated();
      if (r.heldBack === heldBack) {
        r.done = true;
        return;
      }
    }
  }

  // On PUBREC aedes stores `{ cmd: 'pubrel', messageId }`, with no brokerId or
  // brokerCounter; the store takes the first entry with equal brokerId and
  // brokerCounter as the same message, and a PUBREL already stored (awaiting
  // its PUBCOMP) has both undefined too. A copy with its packet id as its
  // identity is stored instead: aedes writes its own PUBREL object.
  store.outgoingUpdate = async (client, packet) => {
    const stored = packet.cmd === 'pubrel' && packet.brokerId === undefined ? { ...packet, brokerId: PUBREL, brokerCounter: packet.messageId } : packet;
    const r = resumes.get(client);
    const resending = r !== undefined && !r.done && r.handed.has(keyOf(stored));
    try {
      await inner.update(client, stored);
    } catch (error) {
      if (!resending) throw error;
      // Acknowledged (PUBACK, PUBCOMP) after the snapshot was taken: not a client error.
      stale.add(packet);
    } finally {
      if (resending) r.noteUpdated(keyOf(stored));
    }
  };

  store.outgoingClearMessageId = async (client, packet) => (held.has(packet) || stale.has(packet) ? undefined : inner.clear(client, packet));

  store.outgoingStream = (client) => (client.clean ? inner.stream(client) : Readable.from(resend(client, resumeOf(client))));

  // aedes asks this for every delivery: a live one or a retained one (a fresh
  // packet, no packet id yet) and each PUBLISH of the resend (packet id
  // assigned, QoS already set by asResent()). Held back: a live message this
  // client has in the store while its queue is still being resent (the
  // resend sends it, in order), and one the resend already sent (it would go
  // out twice, under two ids).
  const authorizeForward: SessionStore['authorizeForward'] = (client, packet) => {
    const p = packet as OutgoingPacket;
    if (stale.has(p)) return null;
    if (!p.qos || p.messageId !== undefined) return packet;
    if (!client.clean && !p.retain) {
      const r = resumeOf(client);
      if (r.handed.has(keyOf(p)) || (!r.done && isStored(client, packet.topic))) {
        if (!r.done) r.heldBack++;
        held.add(p);
        return null;
      }
    }
    const qos = cappedQos(client, packet.topic, packet.qos);
    return qos === packet.qos ? packet : { ...packet, qos };
  };

  return { persistence, authorizeForward };
}

/** A stored PUBLISH as it is to be resent: what aedes's own packet lacks. */
function asResent(client: Client, entry: OutgoingPacket): OutgoingPacket {
  // aedes gives a stored PUBLISH its packet id just before it writes it: with one, this is a redelivery.
  const dup = entry.messageId !== undefined;
  const qos = cappedQos(client, entry.topic!, entry.qos!);
  return dup || qos !== entry.qos ? { ...entry, dup, qos } : entry;
}

/**
 * `qos` lowered to the highest QoS this client's subscriptions grant on
 * `topic`. Not to 0: aedes sends QoS 0 by another path, and a stored entry
 * sent at QoS 0 would never be acknowledged, so never leave the store.
 */
function cappedQos<Q extends number>(client: Client, topic: string, qos: Q): Q {
  if (qos < 2) return qos; // nothing to lower it to (see above); spares the filter matching per message
  const granted = grantedQos(client, topic);
  return (granted > 0 && granted < qos ? granted : qos) as Q;
}

/** The highest QoS this client's subscriptions grant on `topic` (0 when none matches). */
function grantedQos(client: Client, topic: string): number {
  const subscriptions = (client as unknown as Subscribed).subscriptions ?? {};
  return Math.max(0, ...Object.entries(subscriptions).map(([filter, sub]) => (matchesFilter(filter, topic) ? sub.qos : 0)));
}

/** Whether aedes stored a message on `topic` for this client: it does for each subscription above QoS 0. */
const isStored = (client: Client, topic: string) => grantedQos(client, topic) > 0;
