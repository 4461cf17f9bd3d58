// Pure logic of the lab: timeline merging and id correlation, the matrix
// cells and their text, the terminal diagram, the Mermaid shape, trace records
// and the lab's options. No broker here; the integration tests run real ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLab } from '../../src/cli/options';
import type { LaneEvent } from '../../src/lab/lanes';
import type { Packet } from '../../src/mqtt/packet-event';
import { arrowLine, formatDiagram } from '../../src/lab/diagram';
import { cellOf, cellText, formatMatrix, type PairRun } from '../../src/lab/matrix';
import { mermaidDiagram } from '../../src/lab/mermaid';
import { buildTimeline } from '../../src/lab/timeline';
import { traceRecord } from '../../src/mqtt/trace';
import type { QoS } from '../../src/mqtt/qos';

const ids = { publisherId: 'p', subscriberId: 's' };
const publish = (qos: QoS, messageId?: number): Packet => ({ cmd: 'publish', qos, messageId, topic: 't', payload: Buffer.from('x'), dup: false, retain: false });
const ack = (cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', messageId: number) => ({ cmd, messageId }) as Packet;
const client = (leg: 'publisher' | 'subscriber', direction: 'send' | 'receive', at: number, packet: Packet): LaneEvent => ({ lane: leg, direction, at, packet });
const tap = (clientId: string, direction: 'send' | 'receive', at: number, packet: Packet): LaneEvent => ({ lane: 'broker', clientId, direction, at, packet });

/** A QoS 1 publish delivered at QoS 1: publisher id 7, broker's id toward the subscriber 3. */
function qos1Events(withTap: boolean): LaneEvent[] {
  const events = [
    client('publisher', 'send', 1, publish(1, 7)),
    client('subscriber', 'receive', 4, publish(1, 3)),
    client('publisher', 'receive', 5, ack('puback', 7)),
    client('subscriber', 'send', 6, ack('puback', 3)),
  ];
  if (withTap) {
    events.push(tap('p', 'receive', 2, publish(1, 7)), tap('s', 'send', 3, publish(1, 3)), tap('p', 'send', 3.5, ack('puback', 7)), tap('s', 'receive', 7, ack('puback', 3)));
  }
  return events;
}

test('timeline: each packet seen by both ends becomes one arrow, in send order, with the tap marking the broker lane', () => {
  const timeline = buildTimeline(qos1Events(true), ids);
  assert.equal(timeline.broker, 'tap');
  assert.deepEqual(
    timeline.arrows.map((a) => [a.from, a.to, a.packet.cmd, a.sentAt, a.receivedAt]),
    [
      ['publisher', 'broker', 'publish', 1, 2],
      ['broker', 'subscriber', 'publish', 3, 4],
      ['broker', 'publisher', 'puback', 3.5, 5],
      ['subscriber', 'broker', 'puback', 6, 7],
    ],
  );
  assert.deepEqual(timeline.messages, [{ topic: 't', publisherId: 7, forwarded: true, subscriberId: 3 }]);
});

test('timeline: without a tap the broker lane is derived, arrows carry one side only', () => {
  const timeline = buildTimeline(qos1Events(false), ids);
  assert.equal(timeline.broker, 'derived');
  assert.deepEqual(timeline.arrows.map((a) => [a.from, a.to, a.sentAt, a.receivedAt]), [
    ['publisher', 'broker', 1, undefined],
    ['broker', 'subscriber', undefined, 4],
    ['broker', 'publisher', undefined, 5],
    ['subscriber', 'broker', 6, undefined],
  ]);
});

test('timeline: a QoS 0 message carries no id, and an unforwarded one says so', () => {
  const forwarded = buildTimeline([client('publisher', 'send', 1, { ...publish(0), messageId: 0 }), client('subscriber', 'receive', 2, publish(0))], ids);
  assert.deepEqual(forwarded.messages, [{ topic: 't', publisherId: undefined, forwarded: true, subscriberId: undefined }]);
  const dropped = buildTimeline([client('publisher', 'send', 1, publish(2, 9))], ids);
  assert.deepEqual(dropped.messages, [{ topic: 't', publisherId: 9, forwarded: false, subscriberId: undefined }]);
});

function run(publishQos: QoS, subscribeQos: QoS, events: LaneEvent[], appAt: number | null, granted: number = subscribeQos): PairRun {
  return { publishQos, subscribeQos, granted, timeline: buildTimeline(events, ids), appAt, problem: null };
}

test('matrix cell: delivered QoS read from the subscriber leg, packets per leg, ack wait, where delivery happened', () => {
  const cell = cellOf(run(1, 2, qos1Events(true), 4.5));
  assert.equal(cell.delivered, 1);
  assert.equal(cell.expected, 1);
  assert.equal(cell.mismatch, false);
  assert.deepEqual(cell.packets, { publisher: 2, subscriber: 2 });
  assert.equal(cell.ackMs, 4);
  assert.equal(cell.forwardedAfter, 'PUBLISH');
  assert.equal(cell.appGotItAt, 'PUBLISH');
  assert.equal(cellText(cell), '1 [1]  2+2  4.0ms');
});

test('matrix cell: a broker that delivers below MIN() is flagged, not corrected', () => {
  // publish QoS 2, subscribe QoS 2, but the subscriber's PUBLISH says QoS 1
  const events = [client('publisher', 'send', 1, publish(2, 1)), client('subscriber', 'receive', 2, publish(1, 5)), client('subscriber', 'send', 3, ack('puback', 5))];
  const cell = cellOf(run(2, 2, events, 2.5, 1));
  assert.equal(cell.delivered, 1);
  assert.equal(cell.expected, 2);
  assert.equal(cell.mismatch, true);
  assert.match(cellText(cell), /^1 \[2\]! /);
  const lines = formatMatrix([cell], { broker: 'test' });
  assert.ok(lines.includes('pub 2   1 [2]! 1+2  -'), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('! pub 2 / sub 2: delivered at QoS 1, MIN(2, 2) = 2 expected; granted QoS 1')), lines.join('\n'));
});

test('matrix: rows are publish QoS, columns subscription QoS, only those that ran', () => {
  const cells = [cellOf(run(1, 0, [], null)), cellOf(run(1, 2, qos1Events(true), 4.5))];
  const lines = formatMatrix(cells, { broker: 'test' });
  const header = lines.find((l) => l.trim().startsWith('sub '));
  assert.equal(header?.trim().split(/\s{2,}/).join('|'), 'sub 0|sub 2');
  assert.ok(lines.some((l) => l.startsWith('pub 1   - [0]! 0+0  -')));
  assert.ok(!lines.some((l) => l.startsWith('pub 0')));
});

test('diagram: one arrow per packet between the right lanes, pointing the right way', () => {
  assert.equal(arrowLine('publisher', 'broker', 'PUBLISH q1 id=7'), '|-------- PUBLISH q1 id=7 ------->|                                 |');
  assert.equal(arrowLine('subscriber', 'broker', 'PUBACK id=3'), '|                                 |<--------- PUBACK id=3 ----------|');
  const lines = formatDiagram(buildTimeline(qos1Events(true), ids, [{ at: 4.5, lane: 'subscriber', text: 'app' }]), { verbose: false, color: false });
  assert.match(lines[0]!, /ms Publisher\s+Broker\s+Subscriber$/);
  // With a tap, times are the tap's (receive 2, send 3, send 3.5, receive 7); the note keeps the subscriber's 4.5.
  assert.deepEqual(lines.slice(1).map((l) => l.slice(0, 7)), ['   0.00', '   1.00', '   1.50', '   2.50', '   5.00']);
  assert.match(lines[4]!, /\* app$/);
});

test('mermaid: a sequenceDiagram with three participants and one message per packet', () => {
  const lines = mermaidDiagram({ title: 'publish QoS 1: subscribe QoS 2', timeline: buildTimeline(qos1Events(true), ids), brokerName: 'Broker (aedes tap)' });
  assert.deepEqual(lines.slice(0, 5), ['sequenceDiagram', '  title publish QoS 1 subscribe QoS 2', '  participant P as Publisher', '  participant B as Broker (aedes tap)', '  participant S as Subscriber']);
  assert.deepEqual(lines.slice(5), ['  P->>B: PUBLISH q1 id=7', '  B->>S: PUBLISH q1 id=3', '  B->>P: PUBACK id=7', '  S->>B: PUBACK id=3']);
});

test('trace record: the fields of the packet type, the wire size, never a password', () => {
  const context = { leg: 'publisher' as const, seenBy: 'publisher' as const, protocol: 4 as const, start: 10 };
  const connect: Packet = { cmd: 'connect', clientId: 'c', username: 'u', password: Buffer.from('s3cret'), protocolVersion: 4, clean: true, keepalive: 60 };
  const record = traceRecord({ at: 12.5, direction: 'send', packet: connect }, context);
  assert.deepEqual(record, { time: 2.5, leg: 'publisher', seenBy: 'publisher', direction: 'send', type: 'connect', bytes: 26, clientId: 'c' });
  assert.doesNotMatch(JSON.stringify(record), /s3cret/);
  const pub = traceRecord({ at: 11, direction: 'send', packet: publish(1, 7) }, context);
  assert.deepEqual(pub, { time: 1, leg: 'publisher', seenBy: 'publisher', direction: 'send', type: 'publish', bytes: 8, messageId: 7, qos: 1, dup: false, retain: false, topic: 't', payloadBytes: 1 });
});

test('lab options: a subset, the defaults, and one-line errors', () => {
  const parsed = parseLab(['--pub', '2', '--sub', '1,0']);
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') return;
  assert.deepEqual([parsed.options.lab.pubs, parsed.options.lab.subs], [[2], [0, 1]]);
  assert.equal(parsed.options.lab.url, undefined);
  assert.equal(parsed.options.lab.protocol, 4);
  assert.throws(() => parseLab(['--pub', '3']), /--pub must be QoS levels 0, 1 or 2/);
  assert.throws(() => parseLab(['--protocol', '5']), /--protocol 5 needs --engine mosquitto or --broker/);
  assert.throws(() => parseLab(['--topic', 'a/#']), /--topic 'a\/#'/);
  assert.throws(() => parseLab(['--trace', '']), /--trace needs a file name/);
  assert.throws(() => parseLab(['--json', '']), /--json needs a file name/);
  assert.throws(() => parseLab(['--qos', '1']), /Unknown argument: qos/);
});

test('lab --fault: parsed with the tools\' grammar; a bad spec or a TLS broker is one error line', () => {
  const parsed = parseLab(['--fault', 'pubrec']);
  assert.deepEqual(parsed.kind === 'run' && parsed.options.lab.fault, { kind: 'before', packet: 'pubrec' });
  const plain = parseLab([]);
  assert.equal(plain.kind === 'run' && plain.options.lab.fault, undefined);
  assert.throws(() => parseLab(['--fault', 'pubrel']), /--fault must be puback \| pubrec \| pubcomp .*, got 'pubrel'/);
  assert.throws(() => parseLab(['--fault', 'puback', '--broker', 'mqtts://127.0.0.1:8883']), /--fault needs an mqtt:\/\/ broker/);
});

/** QoS 1 with the PUBACK swallowed by the proxy, then the reconnect and the resend (tap on). */
function cutEvents(): LaneEvent[] {
  const connect = { cmd: 'connect', clientId: 'p' } as Packet;
  const connack = { cmd: 'connack', returnCode: 0, sessionPresent: false } as Packet;
  const resend = { ...publish(1, 7), dup: true } as Packet;
  return [
    client('publisher', 'send', 1, connect), tap('p', 'receive', 2, connect), tap('p', 'send', 3, connack), client('publisher', 'receive', 4, connack),
    client('publisher', 'send', 5, publish(1, 7)), tap('p', 'receive', 6, publish(1, 7)), tap('p', 'send', 7, ack('puback', 7)),
    client('publisher', 'send', 10, connect), tap('p', 'receive', 11, connect), tap('p', 'send', 12, connack), client('publisher', 'receive', 13, connack),
    client('publisher', 'send', 14, resend), tap('p', 'receive', 15, resend), tap('p', 'send', 16, ack('puback', 7)), client('publisher', 'receive', 17, ack('puback', 7)),
  ];
}

test('timeline with a fault: joined per connection, the swallowed PUBACK is a lost arrow, the cut a marked line; the matrix flags it', () => {
  const proxy = {
    dropped: [{ at: 7.5, direction: 'send' as const, clientId: 'p', packet: ack('puback', 7), connection: 1, dropped: true }],
    cuts: [{ at: 7.6, connection: 1, clientId: 'p', reason: 'before puback' }],
  };
  const timeline = buildTimeline(cutEvents(), ids, [], proxy);
  const shown = timeline.arrows.map((a) => `${a.connection} ${a.from}>${a.to} ${a.packet.cmd}${a.lost ? ' lost' : ''}${a.sentAt !== undefined && a.receivedAt !== undefined ? ' both' : ''}`);
  assert.deepEqual(shown, [
    '1 publisher>broker connect both', '1 broker>publisher connack both', '1 publisher>broker publish both', '1 broker>publisher puback lost',
    '2 publisher>broker connect both', '2 broker>publisher connack both', '2 publisher>broker publish both', '2 broker>publisher puback both',
  ]);
  const lines = formatDiagram(timeline, { verbose: false, color: false });
  // Tap times: the first CONNECT reached the tap at 2, its PUBACK left at 7; the cut at 7.6.
  assert.ok(lines.includes('   5.00 | X-------- PUBACK id=7 ----------|                                 |  lost in the cut: never arrived'), lines.join('\n'));
  assert.ok(lines.includes('   5.60 |~~~~~~~~~~~~~~ CUT ~~~~~~~~~~~~~~|                                 |  connection cut by the proxy (before PUBACK)'), lines.join('\n'));
  const cell = cellOf({ publishQos: 1, subscribeQos: 1, granted: 1, timeline, appAt: null, problem: null });
  assert.deepEqual(cell.fault, { cuts: ['before puback'], lost: ['PUBACK'], resent: ['PUBLISH (DUP=1)'] });
  assert.equal(cell.packets.publisher, 4);
  assert.equal(cell.ackMs, 12); // the PUBACK that arrived, after the reconnect
  assert.match(cellText(cell), /^- \[1\]!~4\+0 {2}12\.0ms$/);
  const mermaid = mermaidDiagram({ title: 't', timeline, brokerName: 'B' });
  assert.ok(mermaid.includes('  B-xP: PUBACK id=7 (lost in the cut)'));
  assert.ok(mermaid.includes('  Note over P,B: connection cut by the proxy (before PUBACK)'));
});

test('timeline with a fault and no tap: the proxy\'s record of the swallowed packet is the lost arrow', () => {
  const events = cutEvents().filter((e) => e.lane !== 'broker');
  const proxy = { dropped: [{ at: 7.5, direction: 'send' as const, clientId: 'p', packet: ack('puback', 7), connection: 1, dropped: true }], cuts: [] };
  const timeline = buildTimeline(events, ids, [], proxy);
  const lost = timeline.arrows.filter((a) => a.lost);
  assert.deepEqual(lost.map((a) => [a.from, a.to, a.packet.cmd, a.at, a.sentAt, a.receivedAt]), [['broker', 'publisher', 'puback', 7.5, undefined, undefined]]);
});
