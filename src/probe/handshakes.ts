// The questions one packet exchange answers: which protocol versions the broker
// accepts, and, from the lab's nine pairs (src/lab/pairs.ts), the QoS it grants,
// the QoS it delivers, where it forwards QoS 2 and how it answers a QoS 2 PUBLISH.
import { createConnection } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { runPairs, type LabPair } from '../lab/pairs';
import type { Packet } from '../mqtt/packet-event';
import type { QoS } from '../mqtt/qos';
import { expectedQos } from '../lab/matrix';
import { within } from '../mqtt/wait';
import { upstreamOf } from '../wire/relay';
import type { Answer } from './answer';
import { answer, topic, type Probe } from './probe';
import type { ProbeRecord } from './recorder';

type Found = Omit<Answer, 'seconds'>;

const VERSION_NAMES = { 3: '3.1', 4: '3.1.1', 5: '5' } as const;
type Version = keyof typeof VERSION_NAMES;

interface Hello {
  version: Version;
  /** The CONNACK's code; null when none came. */
  code: number | null;
  /** Without a CONNACK: the broker closed the connection, or said nothing within the bound. */
  silence?: 'closed' | 'timeout';
  connack: ProbeRecord | null;
}

/**
 * One CONNECT of `version`, by hand: connect() speaks 3.1.1 and 5 only, and a
 * refusal is what this question wants to see. Then DISCONNECT and close.
 */
async function hello(p: Probe, version: Version, url: string, node: number): Promise<Hello> {
  // MQTT 3.1 allows client ids of 23 characters at most.
  const clientId = `probe-v${version}-${p.run.slice(-8)}-${node}-sub`;
  const socket = createConnection(upstreamOf(url));
  socket.on('error', () => undefined);
  socket.resume(); // bytes are read by the recorder; unread, the socket would never see its close
  const closed = new Promise<true>((resolve) => socket.once('close', () => resolve(true)));
  const connack = p.rec.next((r) => r.clientId === clientId && r.direction === 'send' && r.packet.cmd === 'connack');
  const { username, password } = p.connection;
  const login = { ...(username !== undefined && { username }), ...(password !== undefined && { password: Buffer.from(password) }) };
  const connect = { cmd: 'connect', protocolId: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clientId, clean: true, keepalive: p.connection.keepalive ?? 10, ...login } as Packet;
  socket.write(mqttPacket.generate(connect, { protocolVersion: version }));
  const reply = await within(Promise.race([connack, closed]), p.limits.answerMs);
  const got = reply === true ? null : reply;
  const packet = got?.packet as { returnCode?: number; reasonCode?: number } | undefined;
  const code = packet ? (packet.reasonCode ?? packet.returnCode ?? 0) : null;
  if (code === 0) socket.write(mqttPacket.generate({ cmd: 'disconnect' } as Packet, { protocolVersion: version }));
  socket.end();
  // A broker that keeps the socket open after our FIN is cut off.
  if ((await within(closed, p.limits.answerMs)) === null) socket.destroy();
  return { version, code, connack: got, ...(code === null && { silence: reply === true ? 'closed' : 'timeout' }) };
}

/** Asked of each node across two brokers: a client of either may speak any version, and the nodes may differ. */
export async function versions(p: Probe): Promise<Found> {
  const nodes: Hello[][] = [];
  for (const [i, url] of p.rec.urls.entries()) {
    const hellos: Hello[] = [];
    for (const v of [3, 4, 5] as const) hellos.push(await hello(p, v, url, i));
    nodes.push(hellos);
  }
  const said = (h: Hello) => `${VERSION_NAMES[h.version]} ${h.code === 0 ? 'accepted' : h.code === null ? (h.silence === 'closed' ? 'closed without CONNACK' : `no CONNACK within ${p.limits.answerMs / 1000} s`) : `refused (CONNACK ${h.code})`}`;
  const all = nodes.flat();
  // MQTT 5 only where every node speaks it; the CONNACK kept is the subscribers' node's (its Maximum QoS bounds what they are granted).
  p.v5 = all.filter((h) => h.version === 5).every((h) => h.code === 0);
  p.v5Connack = p.v5 ? nodes.at(-1)!.find((h) => h.version === 5)!.connack : null;
  const codes = (hellos: Hello[]) => Object.fromEntries(hellos.map((h) => [`v${VERSION_NAMES[h.version]}`, h.code]));
  const figures = nodes.length === 1 ? codes(nodes[0]!) : Object.fromEntries(nodes.map((hellos, i) => [`node${NODE_LABELS[i]}`, codes(hellos)]));
  const evidence = all.map((h) => h.connack);
  const fact = nodes.length === 1 ? nodes[0]!.map(said).join(', ') : nodes.map((hellos, i) => `node ${NODE_LABELS[i]}: ${hellos.map(said).join(', ')}`).join('; ');
  // [MQTT-3.1.2-2]: a level the server does not support gets CONNACK 0x01, then the close.
  const silent = all.filter((h) => h.code === null);
  if (silent.length > 0) return answer('versions', 'violates', `${fact}: an unsupported version must get CONNACK 1 before the close`, figures, evidence, 'MQTT-3.1.2-2');
  if (all.some((h) => h.version === 4 && h.code !== 0)) return answer('versions', 'differs', `${fact}: MQTT 3.1.1 refused`, figures, evidence);
  return answer('versions', 'conforms', fact, figures, evidence);
}

const NODE_LABELS = ['A', 'B'] as const;

/** The records of one lab pair: its two clients' connections. */
function pairRecords(p: Probe, pair: LabPair, since: number): ProbeRecord[] {
  const ids = [pair.clients.publisherId, pair.clients.subscriberId];
  return p.rec.records.slice(since).filter((r) => ids.includes(r.clientId));
}

interface PairSeen {
  pub: QoS;
  sub: QoS;
  suback: ProbeRecord | undefined;
  granted: number | null;
  /** The PUBLISH the broker sent the subscriber. */
  delivered: (ProbeRecord & { packet: Extract<Packet, { cmd: 'publish' }> }) | undefined;
  /** The publisher's PUBLISH, and the broker's first answer under its id. */
  published: ProbeRecord | undefined;
  answer: ProbeRecord | undefined;
  pubrel: ProbeRecord | undefined;
  records: ProbeRecord[];
}

function seen(p: Probe, pair: LabPair, since: number): PairSeen {
  const records = pairRecords(p, pair, since);
  const { publisherId, subscriberId } = pair.clients;
  const suback = records.find((r) => r.clientId === subscriberId && r.direction === 'send' && r.packet.cmd === 'suback');
  const granted = (suback?.packet as { granted?: number[] } | undefined)?.granted?.[0] ?? null;
  const delivered = records.find((r): r is PairSeen['delivered'] & ProbeRecord => r.clientId === subscriberId && r.direction === 'send' && r.packet.cmd === 'publish');
  const published = records.find((r) => r.clientId === publisherId && r.direction === 'receive' && r.packet.cmd === 'publish');
  const id = published?.packet.messageId;
  const acks = ['puback', 'pubrec', 'pubcomp'];
  const reply = records.find((r) => r.clientId === publisherId && r.direction === 'send' && acks.includes(r.packet.cmd) && r.packet.messageId === id);
  const pubrel = records.find((r) => r.clientId === publisherId && r.direction === 'receive' && r.packet.cmd === 'pubrel');
  return { pub: pair.publishQos, sub: pair.subscribeQos, suback, granted, delivered, published, answer: id === undefined ? undefined : reply, pubrel, records };
}

/** The lab's nine pairs through the recorder, and the four answers read from their records. */
export async function pairs(p: Probe): Promise<Found[]> {
  const since = p.rec.records.length;
  const levels = [0, 1, 2] as const;
  // Across two brokers the lab's own legs: its publisher on node A, its subscriber on node B.
  const where = p.across ? { pubUrl: p.rec.url, subUrl: p.rec.subUrl } : { url: p.rec.url };
  const done = await runPairs({ ...where, connection: p.connection, protocol: 4, pubs: levels, subs: levels, topic: topic(p, 'matrix'), message: 'probe', ackTimeoutMs: p.limits.answerMs }, () => undefined, () => undefined);
  const all = done.map((pair) => seen(p, pair, since));
  for (const s of all.filter(refusedPublish)) p.refusedQos.add(s.pub);
  return [granted(p, all), matrix(p, all), forward(p, all), pubrec(all)];
}

/** A broker may refuse a publish it will not take (mosquitto's max_qos closes the connection): no answer, nothing delivered. */
function refusedPublish(s: PairSeen): boolean {
  return s.pub > 0 && s.published !== undefined && !s.answer && !s.delivered;
}

function granted(p: Probe, all: PairSeen[]): Found {
  const bySub = new Map<QoS, PairSeen>();
  for (const s of all) if (!bySub.has(s.sub)) bySub.set(s.sub, s);
  const rows = [...bySub.values()];
  const maxQos = (p.v5Connack?.packet as { properties?: { maximumQoS?: number } } | undefined)?.properties?.maximumQoS;
  const announced = p.v5 ? `; MQTT 5 CONNACK Maximum QoS: ${maxQos ?? 'absent (2)'}` : '';
  const onB = p.across ? 'node B (the subscribers\'): ' : '';
  const fact = onB + rows.map((s) => `asked ${s.sub} → ${s.granted === null ? 'no SUBACK' : s.granted >= 0x80 ? `refused 0x${s.granted.toString(16)}` : `granted ${s.granted}`}`).join(', ') + announced;
  const figures = { granted: Object.fromEntries(rows.map((s) => [s.sub, s.granted])), maximumQoS: p.v5 ? (maxQos ?? 2) : null };
  const evidence = [...rows.map((s) => s.suback), p.v5Connack];
  if (rows.some((s) => s.granted !== null && s.granted < 0x80 && s.granted > s.sub)) return answer('granted', 'violates', `${fact}: granted more than asked`, figures, evidence, 'MQTT-3.8.4-6');
  if (rows.some((s) => s.granted !== s.sub)) return answer('granted', 'differs', `${fact}: a broker may grant less than asked; every delivery is then at the lower QoS`, figures, evidence);
  return answer('granted', 'conforms', fact, figures, evidence);
}

/**
 * Delivered QoS read from the PUBLISH on the subscriber's leg (node B across two
 * brokers), against MIN(pub, granted), or MIN(pub, bridge, granted) across a
 * bridge (src/lab/matrix.ts expectedQos: each hop delivers at no more than its own QoS).
 */
function matrix(p: Probe, all: PairSeen[]): Found {
  const bridgeQos = p.across?.bridgeQos;
  const rule = bridgeQos === undefined ? 'MIN(pub, granted)' : `MIN(pub, bridge ${bridgeQos}, granted)`;
  const cell = (s: PairSeen) => (s.delivered ? String(s.delivered.packet.qos) : '-');
  const grid = ([0, 1, 2] as const).map((pub) => `pub ${pub}: ${all.filter((s) => s.pub === pub).map(cell).join(' ')}`).join(' | ');
  const refused = all.filter(refusedPublish);
  const grantOf = (s: PairSeen) => (s.granted !== null && s.granted < 0x80 ? (s.granted as QoS) : null);
  const want = (s: PairSeen) => expectedQos(s.pub, grantOf(s)!, bridgeQos);
  const wrong = all.filter((s) => {
    if (refused.includes(s) || grantOf(s) === null) return false;
    return !s.delivered ? want(s) > 0 : s.delivered.packet.qos !== want(s);
  });
  const figures = { ...(bridgeQos !== undefined && { bridgeQos }), delivered: all.map((s) => ({ pub: s.pub, sub: s.sub, granted: s.granted, expected: grantOf(s) === null ? null : want(s), delivered: s.delivered?.packet.qos ?? null })) };
  const evidence = all.flatMap((s) => [s.delivered, s.suback]);
  const fact = `delivered QoS (sub 0 1 2)${p.across ? ' on node B' : ''}: ${grid}`;
  // Brokers the probe did not start are joined by something it cannot see: less than MIN(pub, granted) may be that hop's QoS.
  const less = (s: PairSeen) => !s.delivered || s.delivered.packet.qos < want(s);
  if (wrong.length > 0 && p.across && !p.across.known && wrong.every(less)) {
    const list = wrong.map((s) => `pub ${s.pub}/sub ${s.sub} got ${s.delivered ? `QoS ${s.delivered.packet.qos}` : 'nothing'}`).join(', ');
    return answer('matrix', 'differs', `${fact}; ${list}, less than ${rule}: whatever joins --pub-broker to --sub-broker (a bridge's QoS, or nothing) is a term the probe cannot see`, figures, [...evidence, ...wrong.flatMap((s) => s.records)]);
  }
  if (wrong.length > 0) {
    const list = wrong.map((s) => `pub ${s.pub}/sub ${s.sub} got ${s.delivered ? `QoS ${s.delivered.packet.qos}` : 'nothing'}`).join(', ');
    return answer('matrix', 'violates', `${fact}; ${list} (want ${rule})`, figures, [...evidence, ...wrong.flatMap((s) => s.records)], 'MQTT-3.8.4-6');
  }
  if (refused.length > 0) {
    const list = refused.map((s) => `pub ${s.pub}/sub ${s.sub}`).join(', ');
    return answer('matrix', 'differs', `${fact}; the broker never acknowledged the PUBLISH of ${list} and delivered nothing (it refuses that QoS); elsewhere ${rule}`, figures, [...evidence, ...refused.map((s) => s.published)], 'MQTT-3.8.4-6');
  }
  return answer('matrix', 'conforms', `${fact}: ${rule} everywhere`, figures, evidence, 'MQTT-3.8.4-6');
}

function forward(p: Probe, all: PairSeen[]): Found {
  const s = all.find((x) => x.pub === 2 && x.sub === 2);
  if (!s?.delivered || !s.published) return answer('forward', 'unmeasured', 'the QoS 2 pair delivered nothing', {}, s ? [s.records] : []);
  if (!s.pubrel) return answer('forward', 'unmeasured', `forwarded, but the publisher never sent PUBREL (the broker answered ${s.answer?.packet.cmd.toUpperCase() ?? 'nothing'})`, {}, [s.published, s.delivered, s.answer]);
  const early = s.delivered.n < s.pubrel.n;
  // Across two brokers both records are on one numbering, so their order is still the order they crossed.
  const hop = p.across ? `on node B at QoS ${s.delivered.packet.qos}, ` : '';
  const fact = hop + (early
    ? `forwarded after the publisher's PUBLISH, before its PUBREL (record ${s.delivered.n} before ${s.pubrel.n}): the subscriber can have the message before the publisher's flow is complete`
    : `forwarded after the publisher's PUBREL (record ${s.pubrel.n} before ${s.delivered.n}): the message moves on only once the publisher's flow is released`);
  return answer('forward', 'conforms', fact, { after: early ? 'publish' : 'pubrel' }, [s.published, s.answer, s.pubrel, s.delivered], 'MQTT-4.3.3-2');
}

function pubrec(all: PairSeen[]): Found {
  const answers = all.filter((s) => s.pub === 2);
  const got = answers.map((s) => s.answer?.packet.cmd ?? null);
  const evidence = answers.flatMap((s) => [s.published, s.answer]);
  const figures = { answers: got };
  const wrong = answers.find((s) => s.answer && s.answer.packet.cmd !== 'pubrec');
  if (wrong) return answer('pubrec', 'violates', `answered a QoS 2 PUBLISH with ${wrong.answer!.packet.cmd.toUpperCase()} (record ${wrong.answer!.n}): QoS 2 needs PUBREC, PUBREL, PUBCOMP; MQTT.js takes a PUBACK as the end of the flow`, figures, evidence, 'MQTT-4.3.3-2');
  if (got.some((g) => g === null)) return answer('pubrec', 'unmeasured', `no answer to ${got.filter((g) => g === null).length} of ${got.length} QoS 2 PUBLISH(es)`, figures, evidence);
  return answer('pubrec', 'conforms', `PUBREC, ${got.length} of ${got.length}`, figures, evidence, 'MQTT-4.3.3-2');
}
