// The lab on one clock and as the wire had it: arrows of the two legs ordered
// by what the broker tap saw, the tap's own parse of each packet on the arrow,
// the same order in the diagram, the JSON trace and Mermaid; `--engine
// mosquitto` with its real tap; and what a broker that grants less than asked
// looks like (SUBSCRIBE q2, then SUBACK granted q1).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseLab } from '../../src/cli/options';
import { formatDiagram } from '../../src/lab/diagram';
import type { LaneEvent } from '../../src/lab/lanes';
import { arrowLabel } from '../../src/lab/label';
import { cellOf } from '../../src/lab/matrix';
import { mermaidDiagram } from '../../src/lab/mermaid';
import { runPairs, type LabPair } from '../../src/lab/pairs';
import { buildTimeline, type Arrow } from '../../src/lab/timeline';
import { pairRecords } from '../../src/lab/trace';
import type { Packet } from '../../src/mqtt/packet-event';
import { QOS_LEVELS, type QoS } from '../../src/mqtt/qos';
import type { TraceRecord } from '../../src/mqtt/trace';
import { run } from '../support/in-process';
import { assertLabMatchesWire, witness } from '../support/witness';
import { testBroker } from '../support/broker';
import { needsMosquitto, testMosquitto, testTappedMosquitto } from '../support/mosquitto';

const ids = { publisherId: 'p', subscriberId: 's' };
const client = (leg: 'publisher' | 'subscriber', direction: 'send' | 'receive', at: number, packet: Packet): LaneEvent => ({ lane: leg, direction, at, packet });
const tap = (clientId: string, direction: 'send' | 'receive', at: number, packet: Packet): LaneEvent => ({ lane: 'broker', clientId, direction, at, packet });
const disconnect = { cmd: 'disconnect' } as Packet;
const publish = (qos: QoS, messageId?: number): Packet => ({ cmd: 'publish', qos, messageId, topic: 't', payload: Buffer.from('x'), dup: false, retain: false });
const puback = (messageId: number) => ({ cmd: 'puback', messageId }) as Packet;
const shown = (arrows: readonly Arrow[]) => arrows.map((a) => `${a.from}>${a.to} ${arrowLabel(a.packet)}`);

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-qos-lab-wire-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('one clock: QoS 0 DISCONNECTs in the order the tap received them, not by each client\'s own send time', () => {
  // The publisher logged its DISCONNECT first (10 < 11), the broker received the subscriber's first (12 < 13).
  const events = [client('publisher', 'send', 10, disconnect), client('subscriber', 'send', 11, disconnect), tap('s', 'receive', 12, disconnect), tap('p', 'receive', 13, disconnect)];
  const timeline = buildTimeline(events, ids);
  assert.deepEqual(shown(timeline.arrows), ['subscriber>broker DISCONNECT', 'publisher>broker DISCONNECT']);
  assert.deepEqual(timeline.arrows.map((a) => a.at), [12, 13]);
});

test('one clock: the publisher\'s PUBACK left the broker before the subscriber\'s reached it, so it is drawn first', () => {
  const events = [
    client('publisher', 'send', 1, publish(1, 7)), tap('p', 'receive', 2, publish(1, 7)),
    tap('s', 'send', 3, publish(1, 3)), client('subscriber', 'receive', 4, publish(1, 3)),
    client('subscriber', 'send', 5, puback(3)), tap('p', 'send', 6, puback(7)), client('publisher', 'receive', 7, puback(7)), tap('s', 'receive', 8, puback(3)),
  ];
  const timeline = buildTimeline(events, ids);
  assert.deepEqual(shown(timeline.arrows), ['publisher>broker PUBLISH q1 id=7', 'broker>subscriber PUBLISH q1 id=3', 'broker>publisher PUBACK id=7', 'subscriber>broker PUBACK id=3']);
  // Without the tap there is no shared observer: each client's own time orders, and the legend says so.
  const derived = buildTimeline(events.filter((e) => e.lane !== 'broker'), ids);
  assert.deepEqual(shown(derived.arrows).slice(2), ['subscriber>broker PUBACK id=3', 'broker>publisher PUBACK id=7']);
});

test('one clock: the diagram, Mermaid and the JSON trace follow the same order, sender\'s record before receiver\'s', () => {
  const events = [client('publisher', 'send', 10, disconnect), client('subscriber', 'send', 11, disconnect), tap('s', 'receive', 12, disconnect), tap('p', 'receive', 13, disconnect)];
  const timeline = buildTimeline(events, ids);
  const diagram = formatDiagram(timeline, { verbose: false, color: false }).slice(1);
  assert.match(diagram[0]!, /^ {3}0\.00 \| +\|<-+ DISCONNECT -+\|$/);
  assert.match(diagram[1]!, /^ {3}1\.00 \|-+ DISCONNECT -+>\| +\|$/);
  assert.deepEqual(mermaidDiagram({ title: 't', timeline, brokerName: 'B' }).slice(5), ['  S->>B: DISCONNECT', '  P->>B: DISCONNECT']);
  const pair = { publishQos: 0, subscribeQos: 0, granted: 0, timeline, appAt: null, problem: null, timedOut: null, clients: ids, proxy: null } satisfies LabPair;
  assert.deepEqual(
    pairRecords(pair, 0, 4).map((r) => `${r.leg} ${r.seenBy} ${r.time}`),
    ['subscriber subscriber 11', 'subscriber broker 12', 'publisher publisher 10', 'publisher broker 13'],
  );
});

test('an arrow shows the packet as the tap parsed it from the bytes, not the client\'s object (MQTT.js rewrites SUBSCRIBE after SUBACK)', () => {
  const asked = { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 2 }] } as Packet;
  const rewritten = { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] } as Packet;
  const suback = { cmd: 'suback', messageId: 1, granted: [1] } as Packet;
  const events = [client('subscriber', 'send', 1, rewritten), tap('s', 'receive', 2, asked), tap('s', 'send', 3, suback), client('subscriber', 'receive', 4, suback)];
  assert.deepEqual(shown(buildTimeline(events, ids).arrows), ['subscriber>broker SUBSCRIBE q2', 'broker>subscriber SUBACK granted q1']);
});

test('a broken rule is marked on its arrow in the diagram and in Mermaid, and in the cell', () => {
  const events = [client('publisher', 'send', 1, publish(2, 7)), client('publisher', 'receive', 2, puback(7))];
  const timeline = buildTimeline(events, ids);
  assert.match(formatDiagram(timeline, { verbose: false, color: false })[2]!, /^ {3}1\.00 \|<-+ PUBACK id=7 -+\| +\| {2}! breaks \[MQTT-4\.3\.3-2\]$/);
  assert.deepEqual(mermaidDiagram({ title: 't', timeline, brokerName: 'B' }).slice(5), ['  P->>B: PUBLISH q2 id=7', '  B->>P: PUBACK id=7 (breaks MQTT-4.3.3-2)']);
  const cell = cellOf({ publishQos: 2, subscribeQos: 2, granted: 2, timeline, appAt: null, problem: null });
  assert.deepEqual([cell.ackMs, cell.ackBroke, cell.violations.length], [1, true, 1]);
  assert.match(cell.violations[0]!, /^the broker answered our QoS 2 PUBLISH id=7 with PUBACK where PUBREC was due .*\[MQTT-4\.3\.3-2\]$/);
});

test('lab options: --engine mosquitto allows --protocol 5; --engine and --broker exclude each other; --ack-timeout is seconds', () => {
  const parsed = parseLab(['--engine', 'mosquitto', '--protocol', '5', '--ack-timeout', '0.5']);
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') return;
  assert.deepEqual([parsed.options.lab.engine, parsed.options.lab.url, parsed.options.lab.protocol, parsed.options.lab.ackTimeoutMs], ['mosquitto', undefined, 5, 500]);
  const plain = parseLab([]);
  assert.deepEqual(plain.kind === 'run' && [plain.options.lab.engine, plain.options.lab.ackTimeoutMs], ['aedes', 5000]);
  assert.throws(() => parseLab(['--engine', 'mosquitto', '--broker', '127.0.0.1:1883']), /--engine and --broker exclude each other/);
  assert.throws(() => parseLab(['--engine', 'hivemq']), /engine/);
  assert.throws(() => parseLab(['--ack-timeout', '0']), /--ack-timeout must be a number of seconds above 0, got '0'/);
});

test('npm start --engine mosquitto: the broker lane is tapped, every arrow has both ends, arrows of both legs in the tap\'s order', needsMosquitto, async () => {
  const pairs = await runPairs({ engine: 'mosquitto', protocol: 4, pubs: QOS_LEVELS, subs: [1], topic: 'wire-lab', message: 'hello' }, () => undefined, () => undefined);
  assert.equal(pairs.length, 3);
  for (const pair of pairs) {
    const { arrows } = pair.timeline;
    assert.equal(pair.timeline.broker, 'tap');
    assert.deepEqual(arrows.filter((a) => a.sentAt === undefined || a.receivedAt === undefined).map((a) => a.packet.cmd), []);
    assert.equal(cellOf(pair).delivered, Math.min(pair.publishQos, 1));
    // The one clock: each arrow sits at the tap's time, and the arrows run in that order.
    for (const a of arrows) assert.equal(a.at, a.records.find((r) => r.lane === 'broker')?.at);
    assert.deepEqual(arrows.map((a) => a.at), [...arrows.map((a) => a.at)].sort((x, y) => x - y));
  }
});

test('npm start --engine mosquitto --protocol 5, in-process: the heading names mosquitto and its tap proxy, exit 0', needsMosquitto, async (t) => {
  const dir = tmp(t);
  const mermaid = join(dir, 'lab.md');
  const result = await run('lab', ['--engine', 'mosquitto', '--protocol', '5', '--pub', '1', '--sub', '1', '--mermaid', mermaid]);
  assert.equal(result.code, 0, result.err);
  assert.equal(result.err, '');
  assert.match(result.out, /^QoS lab: mosquitto \S+ behind the tap proxy on mqtt:\/\/127\.0\.0\.1:\d+, MQTT 5$/m);
  assert.match(result.out, /^broker lane: mosquitto's own packets \(tap proxy\); arrows of both legs in the order the tap saw them/m);
  assert.match(result.out, /^pub 1 {3}1 \[1\] {2}2\+2 {2}[\d.]+ms$/m);
  assert.match(readFileSync(mermaid, 'utf8'), /participant B as Broker \(mosquitto tap\)/);
});

/** The subscriber's SUBSCRIBE and SUBACK as each view shows them. */
function subscribeViews(pair: LabPair, mermaidLines: string[], diagram: string[], records: TraceRecord[]) {
  return {
    diagram: diagram.filter((l) => /SUBSCRIBE|SUBACK/.test(l)).map((l) => /(SUBSCRIBE q\d|SUBACK granted \S+)/.exec(l)?.[1]),
    mermaid: mermaidLines.filter((l) => /SUBSCRIBE|SUBACK/.test(l)).map((l) => l.trim()),
    json: records.filter((r) => r.type === 'subscribe' || r.type === 'suback').map((r) => `${r.seenBy} ${r.direction} ${r.type} ${r.type === 'subscribe' ? `qos=${r.qos}` : `granted=${r.granted?.join(',')}`}`),
    arrows: shown(pair.timeline.arrows.filter((a) => a.packet.cmd === 'subscribe' || a.packet.cmd === 'suback')),
  };
}

const GRANTED_LESS = {
  diagram: ['SUBSCRIBE q2', 'SUBACK granted q1'],
  mermaid: ['S->>B: SUBSCRIBE q2', 'B->>S: SUBACK granted q1'],
  arrows: ['subscriber>broker SUBSCRIBE q2', 'broker>subscriber SUBACK granted q1'],
};

test('mosquitto max_qos 1 behind the lab\'s tap, MQTT 5, --sub 2: diagram, JSON and Mermaid show SUBSCRIBE q2, then SUBACK granted q1', needsMosquitto, async () => {
  const [pair] = await runPairs({ engine: 'mosquitto', mosquittoConfig: ['max_qos 1'], protocol: 5, pubs: [1], subs: [2], topic: 'wire-lab', message: 'hello' }, () => undefined, () => undefined);
  assert.ok(pair);
  const records = pairRecords(pair, 0, 5).filter((r): r is TraceRecord => r.type !== 'cut');
  const views = subscribeViews(pair, mermaidDiagram({ title: 't', timeline: pair.timeline, brokerName: 'B' }), formatDiagram(pair.timeline, { verbose: false, color: false }), records);
  assert.deepEqual(views.diagram, GRANTED_LESS.diagram);
  assert.deepEqual(views.mermaid, GRANTED_LESS.mermaid);
  assert.deepEqual(views.arrows, GRANTED_LESS.arrows);
  // The tap's records are the wire's; the subscriber's own record of its SUBSCRIBE must say q2 as well.
  assert.deepEqual(views.json, ['subscriber send subscribe qos=2', 'broker receive subscribe qos=2', 'broker send suback granted=1', 'subscriber receive suback granted=1']);
});

test('mosquitto max_qos 1 as --broker (derived lane), MQTT 5, --sub 2: the client records show SUBSCRIBE q2 (what was sent), then SUBACK granted q1', needsMosquitto, async (t) => {
  const broker = await testMosquitto(t, { config: ['max_qos 1'] });
  const dir = tmp(t);
  const json = join(dir, 'trace.jsonl');
  const mermaid = join(dir, 'lab.md');
  const result = await run('lab', ['--broker', broker.url, '--protocol', '5', '--pub', '1', '--sub', '2', '--trace', json, '--mermaid', mermaid]);
  assert.equal(result.code, 0, result.err);
  const diagram = result.out.split('\n').filter((l) => /SUBSCRIBE|SUBACK/.test(l)).map((l) => /(SUBSCRIBE q\d|SUBACK granted \S+)/.exec(l)?.[1]);
  assert.deepEqual(diagram, GRANTED_LESS.diagram);
  const mermaidLines = readFileSync(mermaid, 'utf8').split('\n').filter((l) => /SUBSCRIBE|SUBACK/.test(l)).map((l) => l.trim());
  assert.deepEqual(mermaidLines, GRANTED_LESS.mermaid);
  const records = readFileSync(json, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as TraceRecord);
  assert.deepEqual(
    records.filter((r) => r.type === 'subscribe' || r.type === 'suback').map((r) => `${r.seenBy} ${r.type} ${r.type === 'subscribe' ? r.qos : r.granted?.join(',')}`),
    ['subscriber subscribe 2', 'subscriber suback 1'],
  );
});

test('witness: every arrow and client record of the lab (as --broker) equals what crossed the wire in front of mosquitto', needsMosquitto, async (t) => {
  const wire = await witness(t, (await testMosquitto(t)).url);
  const pairs = await runPairs({ url: wire.url, protocol: 4, pubs: QOS_LEVELS, subs: QOS_LEVELS, topic: 'witness', message: 'hello' }, () => undefined, () => undefined);
  await wire.settled();
  assertLabMatchesWire(pairs, wire);
});

for (const packet of ['puback', 'pubrec', 'pubcomp'] as const) {
  test(`witness: with --fault ${packet}, the lost packet, the reconnect and the resends are what crossed the wire`, async (t) => {
    const wire = await witness(t, (await testBroker(t)).url);
    const qos = packet === 'puback' ? 1 : 2;
    const pairs = await runPairs({ url: wire.url, protocol: 4, pubs: [qos], subs: [qos], topic: 'witness', message: 'hello', fault: { kind: 'before', packet } }, () => undefined, () => undefined);
    assert.deepEqual(cellOf(pairs[0]!).fault.cuts, [`before ${packet}`]);
    await wire.settled();
    assertLabMatchesWire(pairs, wire, { fault: { swallowed: packet } });
    // aedes forwards the resent QoS 1 PUBLISH too: the second hand-over says what it is.
    const handovers = pairs[0]!.timeline.notes.map((n) => n.text);
    if (packet === 'puback') assert.deepEqual(handovers, ['MQTT.js hands the message to the application (QoS 1)', 'MQTT.js hands the message to the application (QoS 1): a second copy (QoS 1 is at least once)']);
    else assert.deepEqual(handovers, ['MQTT.js hands the message to the application (QoS 2)']);
  });
}
