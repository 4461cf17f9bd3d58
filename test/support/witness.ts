// The witness: an independent tap for the suite. A small TCP relay on
// 127.0.0.1:0 that dials the real broker, forwards every byte unchanged, and
// parses each direction's raw bytes with mqtt-packet (never MQTT.js's events,
// never our own tap, proxy or faults code: those are what is under test).
// The assertion helpers then hold what a tool printed (assertToolMatchesWire),
// its --trace file (assertTraceMatchesWire), the lab's records and arrows
// (assertLabMatchesWire, assertLabTraceMatchesWire, assertLabOutputMatchesWire)
// against what crossed this relay, per connection and direction.
import assert from 'node:assert/strict';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { formatDiagram } from '../../src/lab/diagram';
import type { LabPair } from '../../src/lab/pairs';
import type { Arrow } from '../../src/lab/timeline';
import type { CutRecord, TraceRecord } from '../../src/mqtt/trace';
import { within } from '../../src/mqtt/wait';

/** Which way a packet crossed the relay. */
export type WireDirection = 'toBroker' | 'toClient';

/** One packet as its bytes crossed the relay: the fields a QoS flow is told apart by. */
export interface WirePacket {
  /** Arrival order across every connection and both directions, from 1. */
  seq: number;
  /** The relayed connection, counting from 1 in accept order. */
  connection: number;
  /** From that connection's CONNECT; '?' before it. */
  clientId: string;
  direction: WireDirection;
  /** mqtt-packet's cmd, or 'malformed' for bytes the parser refused (parsing of that direction stops there). */
  cmd: Packet['cmd'] | 'malformed';
  /** The whole packet's size on the wire: fixed header, remaining length and body. */
  bytes: number;
  messageId?: number;
  qos?: number;
  dup?: boolean;
  retain?: boolean;
  topic?: string;
  payloadBytes?: number;
  /** SUBSCRIBE: each subscription's topic filter and requested QoS, as sent. */
  subscriptions?: { topic: string; qos: number }[];
  /** SUBACK: what the broker granted, per subscription. */
  granted?: number[];
  /** MQTT 5 reason code, or a 3.1.1 CONNACK return code; undefined when the packet carries none. */
  reasonCode?: number;
  sessionPresent?: boolean;
  clean?: boolean;
  protocolVersion?: number;
  /** CONNACK's MQTT 5 Maximum QoS property. */
  maximumQoS?: number;
  /** CONNECT's Will, as sent. */
  will?: { topic: string; qos: number; retain: boolean; payloadBytes: number };
  /** Why the parser refused the bytes ('malformed' only). */
  error?: string;
}

export interface WireConnection {
  index: number;
  clientId: string;
  protocolVersion: number;
  /** Both directions, in arrival order. */
  packets: WirePacket[];
  /** Which end closed (FIN or reset) first; null while open. */
  closedBy: 'client' | 'broker' | null;
  /** Sockets of this connection still open: 2, 1 (one side closed), 0. */
  openSockets: number;
  /** Resolves when both sockets are closed. */
  closed: Promise<void>;
  /** Resolves when the client's socket is closed (a frozen broker may keep the other one open). */
  clientClosed: Promise<void>;
}

export interface Witness {
  /** Where the tools connect instead of the broker. */
  url: string;
  port: number;
  connections: WireConnection[];
  /** Every packet of every connection, in arrival order. */
  packets(): WirePacket[];
  /** The connections of one client id (several after reconnects), in order. */
  of(clientId: string | RegExp): WireConnection[];
  /** Waits (bounded) until every connection so far has closed (or only its client side, with 'client'); fails naming those still open. */
  settled(ms?: number, side?: 'both' | 'client'): Promise<void>;
  close(): Promise<void>;
}

/** Where the broker is: an mqtt:// URL (loopback) or host and port. */
export type Target = string | { host: string; port: number };

function address(target: Target): { host: string; port: number } {
  if (typeof target !== 'string') return target;
  const url = new URL(target);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 1883) };
}

/** The size of the fixed header's remaining-length field for a given remaining length. */
function lengthBytes(remaining: number): number {
  return remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
}

/** A parsed packet (the witness's, or one an observer under test holds) as the fields a QoS flow is told apart by. */
function packetFields(packet: Packet, base: Omit<WirePacket, 'cmd' | 'bytes'>): WirePacket {
  const p = packet as Packet & { length: number; messageId?: number; reasonCode?: number; returnCode?: number };
  const wire: WirePacket = { ...base, cmd: packet.cmd, bytes: 1 + lengthBytes(p.length) + p.length };
  if (p.messageId !== undefined) wire.messageId = p.messageId;
  switch (packet.cmd) {
    case 'publish':
      Object.assign(wire, { qos: packet.qos, dup: Boolean(packet.dup), retain: Boolean(packet.retain), topic: packet.topic, payloadBytes: Buffer.byteLength(packet.payload) });
      // A QoS 0 PUBLISH carries no packet id on the wire [MQTT-2.3.1-5].
      if (packet.qos === 0) delete wire.messageId;
      break;
    case 'connect':
      Object.assign(wire, { clientId: packet.clientId, clean: packet.clean, protocolVersion: packet.protocolVersion ?? 4 });
      if (packet.will) wire.will = { topic: String(packet.will.topic), qos: packet.will.qos ?? 0, retain: Boolean(packet.will.retain), payloadBytes: Buffer.byteLength(packet.will.payload) };
      break;
    case 'connack':
      wire.sessionPresent = packet.sessionPresent;
      if (packet.properties?.maximumQoS !== undefined) wire.maximumQoS = packet.properties.maximumQoS;
      break;
    case 'subscribe':
      wire.subscriptions = packet.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos }));
      break;
    case 'suback':
      wire.granted = [...(packet.granted as number[])];
      break;
    default:
      break;
  }
  const code = p.reasonCode ?? p.returnCode;
  if (code !== undefined && packet.cmd !== 'suback') wire.reasonCode = code;
  return wire;
}

/** Starts a witness in front of `target`, closed when the test ends. */
export async function witness(t: TestContext | null, target: Target): Promise<Witness> {
  const broker = address(target);
  const connections: WireConnection[] = [];
  const sockets = new Set<Socket>();
  const all: WirePacket[] = [];
  let seq = 0;

  const server = createServer((client) => {
    const upstream = createConnection(broker);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    let closedBoth: () => void = () => undefined;
    let closedClient: () => void = () => undefined;
    const conn: WireConnection = {
      index: connections.length + 1,
      clientId: '?',
      protocolVersion: 4,
      packets: [],
      closedBy: null,
      openSockets: 2,
      closed: new Promise((resolve) => (closedBoth = resolve)),
      clientClosed: new Promise((resolve) => (closedClient = resolve)),
    };
    connections.push(conn);
    const relay = (from: Socket, to: Socket, direction: WireDirection) => {
      const parser = mqttPacket.parser();
      let broken = false;
      const record = (wire: WirePacket) => {
        conn.packets.push(wire);
        all.push(wire);
      };
      parser.on('packet', (packet: Packet) => {
        if (packet.cmd === 'connect') {
          conn.clientId = packet.clientId;
          conn.protocolVersion = packet.protocolVersion ?? 4;
          // mqtt-packet takes the client's version from CONNECT on its own; the broker's answers are in it too.
          answers.settings = { protocolVersion: conn.protocolVersion };
        }
        record(packetFields(packet, { seq: ++seq, connection: conn.index, clientId: conn.clientId, direction }));
      });
      parser.on('error', (error: Error) => {
        broken = true;
        record({ seq: ++seq, connection: conn.index, clientId: conn.clientId, direction, cmd: 'malformed', bytes: 0, error: error.message });
      });
      from.on('data', (chunk: Buffer) => {
        // Bytes go on unchanged whatever the parser makes of them.
        to.write(chunk);
        if (!broken) parser.parse(chunk);
      });
      from.on('end', () => {
        conn.closedBy ??= direction === 'toBroker' ? 'client' : 'broker';
        to.end();
      });
      from.on('close', (hadError: boolean) => {
        if (hadError) {
          conn.closedBy ??= direction === 'toBroker' ? 'client' : 'broker';
          to.destroy();
        } else to.end();
        if (from === client) closedClient();
        if (--conn.openSockets === 0) closedBoth();
      });
      return parser;
    };
    const answers = relay(upstream, client, 'toClient') as unknown as { settings: { protocolVersion?: number } };
    relay(client, upstream, 'toBroker');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const matches = (id: string, want: string | RegExp) => (typeof want === 'string' ? id === want : want.test(id));
  const w: Witness = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    connections,
    packets: () => [...all],
    of: (clientId) => connections.filter((c) => matches(c.clientId, clientId)),
    settled: async (ms = 3000, side = 'both') => {
      const done = await within(Promise.all(connections.map((c) => (side === 'both' ? c.closed : c.clientClosed))), ms);
      if (done === null) {
        const open = connections.filter((c) => (side === 'both' ? c.openSockets > 0 : c.openSockets === 2)).map((c) => `#${c.index} ${c.clientId}`);
        assert.fail(`witness: connections still open after ${ms} ms: ${open.join(', ')}`);
      }
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  t?.after(() => w.close());
  return w;
}

// ---- Holding what was shown against what crossed ----------------------------

/** A packet as one observer reported it, reduced to comparable text: `send: publish dup=0 id=1 qos=1`. */
interface Seen {
  direction: WireDirection;
  cmd: string;
  text: string;
}

/** Which fields a view shows; the wire packet is rendered with the same ones. */
type View = 'plain' | 'verbose' | 'json' | 'arrow';

const SIDE: Record<WireDirection, 'send' | 'receive'> = { toBroker: 'send', toClient: 'receive' };

function render(direction: WireDirection, cmd: string, fields: Record<string, string | number | boolean | undefined>): Seen {
  const shown = Object.entries(fields)
    .filter((e): e is [string, string | number | boolean] => e[1] !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => ` ${k}=${typeof v === 'boolean' ? Number(v) : v}`)
    .join('');
  return { direction, cmd, text: `${SIDE[direction]}: ${cmd}${shown}` };
}

/** A code other than success; 0 and none read the same on every view. */
const nonZero = (code: number | undefined) => (code ? code : undefined);

/** The wire packet through one view's eyes: only the fields that view shows. */
function wireSeen(w: WirePacket, view: View): Seen {
  const id = w.messageId;
  const list = (xs: number[] | undefined) => xs?.join(',');
  if (w.cmd === 'malformed') return render(w.direction, 'malformed', { error: w.error });
  if (view === 'plain') {
    const refused = w.cmd === 'suback' ? (w.granted ?? []).filter((g) => g >= 0x80) : w.reasonCode ? [w.reasonCode] : [];
    return render(w.direction, w.cmd, { reason: refused.length ? refused.join(',') : undefined });
  }
  if (view === 'json') {
    switch (w.cmd) {
      case 'publish':
        return render(w.direction, w.cmd, { id, qos: w.qos, dup: w.dup, retain: w.retain, topic: w.topic, payload: w.payloadBytes, bytes: w.bytes });
      case 'subscribe':
        return render(w.direction, w.cmd, { id, qos: Math.max(...w.subscriptions!.map((s) => s.qos)), topic: w.subscriptions!.map((s) => s.topic).join(','), bytes: w.bytes });
      case 'suback':
        return render(w.direction, w.cmd, { id, granted: list(w.granted), bytes: w.bytes });
      case 'connect':
        return render(w.direction, w.cmd, { 'client-id': w.clientId, bytes: w.bytes });
      default:
        return render(w.direction, w.cmd, { id, reason: nonZero(w.reasonCode), bytes: w.bytes });
    }
  }
  // verbose and arrow: what -v prints and what a lab arrow carries.
  switch (w.cmd) {
    case 'publish':
      return render(w.direction, w.cmd, { id, qos: w.qos, dup: w.dup, retain: w.retain, topic: w.topic, payload: `${w.payloadBytes}B` });
    case 'connect': {
      const will = w.will && { 'will-topic': w.will.topic, 'will-qos': w.will.qos, 'will-retain': w.will.retain, 'will-payload': `${w.will.payloadBytes}B` };
      return render(w.direction, w.cmd, { 'client-id': w.clientId, clean: w.clean, ...will });
    }
    case 'connack':
      return render(w.direction, w.cmd, { sessionPresent: w.sessionPresent, code: w.reasonCode ?? 0, 'maximum-qos': w.maximumQoS });
    case 'subscribe':
      return render(w.direction, w.cmd, { id, topic: w.subscriptions!.map((s) => s.topic).join(','), qos: w.subscriptions!.map((s) => s.qos).join(',') });
    case 'suback':
      return render(w.direction, w.cmd, { id, granted: list(w.granted) });
    default:
      return render(w.direction, w.cmd, { id, reason: nonZero(w.reasonCode) });
  }
}

/** A number as printed: `0x87` or `5`. */
const code = (text: string) => (text.startsWith('0x') ? parseInt(text, 16) : Number(text));

/** The packet lines of a tool's output (`send: x` / `receive: x`, with -v details), each read back into fields. */
function printedSeen(output: string, verbose: boolean): Seen[] {
  const seen: Seen[] = [];
  for (const line of output.split('\n')) {
    const m = /^(send|receive): ([a-z]+)(?: {2}(.*))?$/.exec(line);
    if (!m) continue;
    const direction: WireDirection = m[1] === 'send' ? 'toBroker' : 'toClient';
    const cmd = m[2]!;
    const details = m[3] ?? '';
    if (!verbose) {
      // `0x87 not authorized`, `code 5 not authorized`, or several for a SUBACK.
      const codes = [...details.matchAll(/\b0x([0-9a-f]{2})\b/g)].map((c) => parseInt(c[1]!, 16));
      const v311 = /^code (\d+)/.exec(details);
      if (v311) codes.push(Number(v311[1]));
      seen.push(render(direction, cmd, { reason: codes.length ? codes.join(',') : undefined }));
      continue;
    }
    const fields: Record<string, string[]> = {};
    for (const [, key, value] of details.matchAll(/(\S+?)=(\S+)/g)) (fields[key!] ??= []).push(value!);
    const one = (key: string) => fields[key]?.join(',');
    const numbers = (key: string) => fields[key]?.flatMap((v) => v.split(',')).map(code).join(',');
    seen.push(
      render(direction, cmd, {
        id: one('id'),
        qos: one('qos'),
        dup: one('dup'),
        retain: one('retain'),
        topic: one('topic'),
        payload: one('payload'),
        'client-id': one('client-id'),
        clean: one('clean') === undefined ? undefined : Number(one('clean') === 'true'),
        sessionPresent: one('sessionPresent') === undefined ? undefined : Number(one('sessionPresent') === 'true'),
        code: numbers('code'),
        'maximum-qos': one('maximum-qos'),
        'will-topic': one('will-topic'),
        'will-qos': one('will-qos'),
        'will-retain': one('will-retain'),
        'will-payload': one('will-payload'),
        granted: numbers('granted'),
        reason: numbers('reason'),
      }),
    );
  }
  return seen;
}

/** A --trace record (a tool's, or a client's in the lab) through the json view. */
function recordSeen(r: TraceRecord): Seen {
  const direction: WireDirection = r.direction === 'send' ? 'toBroker' : 'toClient';
  return render(direction, r.type, {
    id: r.messageId,
    qos: r.qos,
    dup: r.dup,
    retain: r.retain,
    topic: r.topic,
    payload: r.payloadBytes,
    granted: r.granted?.join(','),
    'client-id': r.clientId,
    reason: nonZero(r.reasonCode),
    bytes: r.bytes,
  });
}

/** A lab arrow (what the diagram draws) through the arrow view; a lost one says so. */
function arrowSeen(a: Arrow): Seen {
  const direction: WireDirection = a.from === 'broker' ? 'toClient' : 'toBroker';
  const w = packetFields(a.packet, { seq: 0, connection: a.connection, clientId: '', direction });
  const seen = wireSeen(w, 'arrow');
  return a.lost ? { ...seen, text: `${seen.text} (lost)` } : seen;
}

/** What a fault proxy between the tool and the witness did: it swallowed the first packet of this type, once. */
export interface FaultAccount {
  /** The cut point: puback, pubrec or pubcomp. */
  swallowed: string;
}

export interface MatchOptions {
  /** The tool ran with -v: compare ids, QoS, DUP, retain, granted... too. */
  verbose?: boolean;
  /** The tool ran with --fault <point>: its own proxy sat between it and the witness. */
  fault?: FaultAccount;
}

/** Splits one client's view into its connections: each `send: connect` starts the next. */
function byConnection(seen: Seen[]): Seen[][] {
  const out: Seen[][] = [];
  for (const s of seen) {
    if (s.direction === 'toBroker' && s.cmd === 'connect') out.push([]);
    if (out.length === 0) out.push([]);
    out.at(-1)!.push(s);
  }
  return out;
}

const isPrefix = (short: Seen[], long: Seen[]) => short.length <= long.length && short.every((s, i) => s.text === long[i]!.text);
const texts = (xs: Seen[]) => xs.map((x) => x.text);

/**
 * Holds one client's view (its connections in order) against the witness's
 * connections of that client id, per connection and direction, in order. With a
 * fault, the proxy's one swallowed packet is accounted for: on the connection it
 * cut, the receiving side saw a prefix of what the sending side sent, the first
 * packet missing is the swallowed one, and what follows it died in the cut.
 * Packets the broker sent after the client's DISCONNECT crossed may be missing
 * from the client's view (it closes without reading them); nothing else may.
 */
function assertViewMatchesWire(mine: Seen[][], wire: WireConnection[], label: string, wireView: View, fault: FaultAccount | undefined): void {
  // Bytes the parser refused are no packet a tool could print (its one Error: line speaks for them).
  const theirs = wire.map((c) => c.packets.filter((p) => p.cmd !== 'malformed').map((p) => wireSeen(p, wireView)));
  assert.equal(mine.length, theirs.length, `${label}: ${mine.length} connection(s) shown, ${theirs.length} on the wire\nshown: ${JSON.stringify(mine.map(texts))}\nwire: ${JSON.stringify(theirs.map(texts))}`);
  let pending = fault?.swallowed;
  for (let k = 0; k < mine.length; k++) {
    const pick = (xs: Seen[], d: WireDirection) => xs.filter((x) => x.direction === d);
    // Per direction: what its sender put out, and what its receiver got (the client's own view is one of the two).
    const sides = [
      { d: 'toBroker' as const, sent: pick(mine[k]!, 'toBroker'), got: pick(theirs[k]!, 'toBroker') },
      { d: 'toClient' as const, sent: pick(theirs[k]!, 'toClient'), got: pick(mine[k]!, 'toClient') },
    ];
    const cutHere = pending !== undefined && sides.some(({ sent, got }) => !isPrefix(sent, got) && isPrefix(got, sent) && sent[got.length]!.cmd === pending);
    if (cutHere) pending = undefined;
    // What the broker sent after the client's DISCONNECT crossed may never be read by a client that is closing.
    const bye = wire[k]!.packets.find((p) => p.direction === 'toBroker' && p.cmd === 'disconnect');
    const readable = bye ? wire[k]!.packets.filter((p) => p.direction === 'toClient' && p.seq < bye.seq).length : Infinity;
    for (const { d, sent, got } of sides) {
      if (cutHere && isPrefix(got, sent)) continue;
      if (d === 'toClient' && got.length >= readable && isPrefix(got, sent)) continue;
      const where = `${label}, connection ${k + 1}, ${d === 'toBroker' ? 'client -> broker' : 'broker -> client'}`;
      const [shown, onWire] = d === 'toBroker' ? [sent, got] : [got, sent];
      assert.deepEqual(texts(shown), texts(onWire), `${where}: what was shown (actual) differs from the wire (expected)`);
    }
  }
  assert.equal(pending, undefined, `${label}: the fault proxy should have swallowed a ${pending}, but every packet shown crossed`);
}

/**
 * A tool's printed packet lines equal, in order, what the witness saw on that
 * client's connection(s): sends are client -> broker, receives broker -> client.
 * A printed packet with no wire twin, or a wire packet not printed, fails.
 */
export function assertToolMatchesWire(output: string, wire: Witness, clientId: string | RegExp, options: MatchOptions = {}): void {
  const view = options.verbose ? 'verbose' : 'plain';
  assertViewMatchesWire(byConnection(printedSeen(output, Boolean(options.verbose))), wire.of(clientId), `${clientId} printed`, view, options.fault);
}

/** The same for a tool's --trace file: one record per packet, fields as on the wire. */
export function assertTraceMatchesWire(records: readonly (TraceRecord | CutRecord)[], wire: Witness, clientId: string | RegExp, options: Pick<MatchOptions, 'fault'> = {}): void {
  const packets = records.filter((r): r is TraceRecord => r.type !== 'cut' && r.seenBy !== 'proxy' && r.seenBy !== 'broker');
  assertViewMatchesWire(byConnection(packets.map(recordSeen)), wire.of(clientId), `${clientId} --trace`, 'json', options.fault);
}

/** A lab packet record from a client, as a Seen through the arrow view (the fields a diagram line and -v show). */
function eventSeen(direction: WireDirection, packet: Packet): Seen {
  return wireSeen(packetFields(packet, { seq: 0, connection: 0, clientId: '', direction }), 'arrow');
}

/**
 * The lab run in-process against `--broker <witness url>`: per pair, each
 * client's own packet records, and the diagram's arrows per link and
 * connection, equal what the witness saw. With --fault the witness sits
 * between the fault proxy and the broker: it saw the packet the proxy
 * swallowed, so the arrows (the lost one included) equal the wire, and the
 * publisher's own records miss exactly that one.
 */
export function assertLabMatchesWire(pairs: readonly LabPair[], wire: Witness, options: { fault?: FaultAccount } = {}): void {
  for (const pair of pairs) {
    const name = `pub ${pair.publishQos} / sub ${pair.subscribeQos}`;
    for (const leg of ['publisher', 'subscriber'] as const) {
      const clientId = leg === 'publisher' ? pair.clients.publisherId : pair.clients.subscriberId;
      const connections = wire.of(clientId);
      const fault = leg === 'publisher' ? options.fault : undefined;
      const own = pair.timeline.arrows.flatMap((a) => a.records).filter((e) => e.lane === leg).sort((a, b) => a.at - b.at).map((e) => eventSeen(e.direction === 'send' ? 'toBroker' : 'toClient', e.packet));
      assertViewMatchesWire(byConnection(own), connections, `${name}: the ${leg}'s records`, 'arrow', fault);

      const arrows = pair.timeline.arrows.filter((a) => a.leg === leg);
      const perConnection: Seen[][] = [];
      for (const a of arrows) (perConnection[a.connection - 1] ??= []).push(arrowSeen(a));
      const drawn = Array.from({ length: perConnection.length }, (_, i) => perConnection[i] ?? []);
      const lost = drawn.flat().filter((s) => s.text.endsWith(' (lost)'));
      assert.deepEqual(lost.map((s) => s.cmd), fault ? [fault.swallowed] : [], `${name}: the ${leg} leg's lost arrows are the packet the proxy swallowed`);
      // The witness is past the proxy: it saw the swallowed packet cross, so the lost arrow has its wire twin.
      const unmarked = drawn.map((c) => c.map((s) => ({ ...s, text: s.text.replace(/ \(lost\)$/, '') })));
      assertViewMatchesWire(unmarked, connections, `${name}: the ${leg} leg's arrows`, 'arrow', undefined);
    }
  }
}

/**
 * A lab --trace file (from `npm start --broker <witness url>`), pair by pair:
 * each client's records equal the wire; the proxy's `dropped` record names the
 * packet it swallowed, and the publisher's records are accounted for with it.
 */
export function assertLabTraceMatchesWire(records: readonly (TraceRecord | CutRecord)[], wire: Witness): void {
  const pairs = [...new Set(records.map((r) => r.pair))];
  assert.ok(pairs.length > 0 && pairs.every((p) => p !== undefined), 'every lab record names its pair');
  for (const pair of pairs) {
    const mine = records.filter((r) => r.pair === pair);
    for (const leg of ['publisher', 'subscriber'] as const) {
      const own = mine.filter((r): r is TraceRecord => r.seenBy === leg);
      const clientId = own.find((r) => r.type === 'connect')?.clientId;
      assert.ok(clientId, `${pair}: the ${leg}'s CONNECT record names its client id`);
      const dropped = mine.filter((r): r is TraceRecord => r.seenBy === 'proxy' && r.type !== 'cut' && r.leg === leg).filter((r) => r.dropped === true);
      assert.ok(dropped.length <= 1, `${pair}: the proxy swallows one packet at most`);
      assertTraceMatchesWire(own, wire, clientId, dropped[0] ? { fault: { swallowed: dropped[0].type } } : {});
    }
  }
}

// ---- The lab's printed diagram -----------------------------------------------

/** Where the diagram's rails are, after the time column: Publisher, Broker, Subscriber. */
const RAILS = { time: 8, publisher: 0, broker: 34, subscriber: 68 };
/** An arrow's label is cut to fit between two rails. */
const LABEL_ROOM = RAILS.broker - RAILS.publisher - 1 - 6;

/** What a diagram arrow says about a wire packet: `PUBLISH q1 id=3 dup`, `SUBACK granted q1`, `CONNACK 0x87`. */
function wireLabel(w: WirePacket, protocolVersion: number): string {
  const name = w.cmd.toUpperCase();
  const id = w.messageId === undefined ? '' : ` id=${w.messageId}`;
  const hex = (c: number) => `0x${c.toString(16).padStart(2, '0')}`;
  let label: string;
  switch (w.cmd) {
    case 'publish':
      label = `${name} q${w.qos}${id}${w.dup ? ' dup' : ''}${w.retain ? ' retain' : ''}`;
      break;
    case 'subscribe':
      label = `${name} q${w.subscriptions!.map((s) => s.qos).join(',')}`;
      break;
    case 'suback':
      label = `${name} granted ${w.granted!.map((g) => (g >= 0x80 ? hex(g) : `q${g}`)).join(',')}`;
      break;
    case 'connack':
      label = w.reasonCode ? `${name} ${protocolVersion === 5 ? hex(w.reasonCode) : `code ${w.reasonCode}`}` : name;
      break;
    default:
      label = `${name}${id}${w.reasonCode ? ` ${hex(w.reasonCode)}` : ''}`;
  }
  return label.length > LABEL_ROOM ? label.slice(0, LABEL_ROOM) : label;
}

/** The arrows of one printed diagram per link, as Seens (label text), read back from the rails. */
function diagramArrows(lines: string[]): Record<'publisher' | 'subscriber', Seen[]> {
  const arrows: Record<'publisher' | 'subscriber', Seen[]> = { publisher: [], subscriber: [] };
  for (const line of lines) {
    if (!/^ *\d+\.\d+ \|/.test(line) || line.includes('~')) continue;
    const rails = line.slice(RAILS.time);
    for (const [link, left, right] of [['publisher', RAILS.publisher, RAILS.broker], ['subscriber', RAILS.broker, RAILS.subscriber]] as const) {
      const span = rails.slice(left + 1, right);
      const label = /-+ (.+?) -+/.exec(span)?.[1];
      if (!label) continue;
      const rightward = span.endsWith('>') || span.endsWith('X ');
      const lost = span.endsWith('X ') || span.startsWith(' X');
      // Rightward on the publisher's link is toward the broker; on the subscriber's link, away from it.
      const direction: WireDirection = rightward === (link === 'publisher') ? 'toBroker' : 'toClient';
      const cmd = label.split(' ')[0]!.toLowerCase();
      arrows[link].push({ direction, cmd, text: `${SIDE[direction]}: ${label}${lost ? ' (lost)' : ''}` });
    }
  }
  return arrows;
}

/**
 * `npm start --broker <witness url>`'s printed diagrams, pair by pair: every
 * arrow's label (type, QoS, id, DUP, retain, granted, reason) and direction,
 * per link and connection, equal the wire. `except` leaves out packet types a
 * known divergence is tested for elsewhere. Returns how many pair diagrams it checked.
 */
export function assertLabOutputMatchesWire(stdout: string, wire: Witness, options: { except?: string[] } = {}): number {
  const blocks = stdout.split(/^(?=== publish QoS)/m).filter((b) => b.startsWith('== publish QoS'));
  assert.ok(blocks.length > 0, 'the lab printed pair diagrams');
  const keep = (s: Seen) => !options.except?.includes(s.cmd);
  for (const block of blocks) {
    const [, pub, sub] = /^== publish QoS (\d), subscribe QoS (\d)/.exec(block)!;
    const drawn = diagramArrows(block.split('\n'));
    for (const leg of ['publisher', 'subscriber'] as const) {
      const connections = wire.of(new RegExp(`-p${pub}s${sub}-${leg === 'publisher' ? 'pub' : 'sub'}$`));
      const theirs = connections.map((c) => c.packets.map((p) => ({ direction: p.direction, cmd: p.cmd, text: `${SIDE[p.direction]}: ${wireLabel(p, c.protocolVersion)}` })).filter(keep));
      const mine = byConnection(drawn[leg]).map((c) => c.filter(keep));
      const label = `pub ${pub} / sub ${sub}: the ${leg} leg's printed arrows`;
      assert.equal(mine.length, theirs.length, `${label}: ${mine.length} connection(s) drawn, ${theirs.length} on the wire`);
      for (let k = 0; k < mine.length; k++) {
        for (const d of ['toBroker', 'toClient'] as const) {
          const shown = mine[k]!.filter((s) => s.direction === d).map((s) => s.text.replace(/ \(lost\)$/, ''));
          const onWire = theirs[k]!.filter((s) => s.direction === d).map((s) => s.text);
          assert.deepEqual(shown, onWire, `${label}, connection ${k + 1}, ${d === 'toBroker' ? 'client -> broker' : 'broker -> client'}: drawn (actual) differs from the wire (expected)`);
        }
      }
    }
  }
  return blocks.length;
}

/** The diagrams an in-process lab run would print, each under its pair's title, for assertLabOutputMatchesWire. */
export function labDiagrams(pairs: readonly LabPair[], verbose = false): string {
  return pairs
    .map((p) => [`== publish QoS ${p.publishQos}, subscribe QoS ${p.subscribeQos} ==`, ...formatDiagram(p.timeline, { verbose, color: false })].join('\n'))
    .join('\n\n');
}
