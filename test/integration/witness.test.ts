// The witness itself: what a raw mqtt-packet client writes through it is what
// it records (split, coalesced, malformed, MQTT 5), the bytes reach the broker
// unchanged, and its assertions fail on a printed line with no wire twin.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { hostileBroker } from '../support/hostile-broker';
import { assertToolMatchesWire, assertTraceMatchesWire, witness, type Witness, type WirePacket } from '../support/witness';
import type { TraceRecord } from '../../src/mqtt/trace';

/** A bare TCP client of the witness, writing what mqtt-packet generates (or raw bytes). */
async function rawClient(t: TestContext, w: Witness): Promise<Socket> {
  const socket = connect(w.port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.resume(); // read (and drop) the answers, so the broker's FIN is seen and the connection can close
  return socket;
}

const bytes = (packet: Packet, protocolVersion = 4) => mqttPacket.generate(packet, { protocolVersion });
const CONNECT = (clientId: string, protocolVersion: 4 | 5 = 4) => ({ cmd: 'connect', clientId, protocolVersion, clean: true, keepalive: 30 }) as Packet;
const PUBLISH = { cmd: 'publish', topic: 'w/t', payload: Buffer.from('hello'), qos: 1, messageId: 7, dup: true, retain: true } as Packet;

/** Resolves once the witness holds `n` packets. */
async function packets(w: Witness, n: number): Promise<WirePacket[]> {
  for (let i = 0; i < 200 && w.packets().length < n; i++) await new Promise((r) => setImmediate(r));
  return w.packets();
}

const brief = (p: WirePacket) => `${p.direction} ${p.cmd}${p.messageId === undefined ? '' : ` id=${p.messageId}`}`;

test('witness: records each packet of a raw client both ways with its fields, and the broker gets the bytes unchanged', async (t) => {
  const broker = await hostileBroker(t);
  const w = await witness(t, broker.url);
  const socket = await rawClient(t, w);
  socket.write(bytes(CONNECT('raw-1')));
  socket.write(bytes(PUBLISH));
  socket.write(bytes({ cmd: 'subscribe', messageId: 9, subscriptions: [{ topic: 'a/#', qos: 2 }, { topic: 'b', qos: 0 }] } as Packet));
  const seen = await packets(w, 6);
  // Arrival order is kept across directions too (seq); within one direction it is TCP's order.
  assert.deepEqual(seen.map((p) => p.seq), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(seen.filter((p) => p.direction === 'toBroker').map(brief), ['toBroker connect', 'toBroker publish id=7', 'toBroker subscribe id=9']);
  assert.deepEqual(seen.filter((p) => p.direction === 'toClient').map(brief), ['toClient connack', 'toClient puback id=7', 'toClient suback id=9']);
  const publish = seen.find((p) => p.cmd === 'publish')!;
  assert.deepEqual(
    [publish.clientId, publish.connection, publish.qos, publish.dup, publish.retain, publish.topic, publish.payloadBytes, publish.bytes],
    ['raw-1', 1, 1, true, true, 'w/t', 5, bytes(PUBLISH).length],
  );
  assert.deepEqual(seen.find((p) => p.cmd === 'subscribe')!.subscriptions, [{ topic: 'a/#', qos: 2 }, { topic: 'b', qos: 0 }]);
  assert.deepEqual(seen.find((p) => p.cmd === 'suback')!.granted, [2, 0]);
  assert.equal(seen.find((p) => p.cmd === 'connack')!.sessionPresent, false);
  // Forwarded unchanged: the broker parsed the same three packets.
  const [conn] = broker.connections;
  assert.deepEqual(conn?.received.map((p) => p.cmd), ['connect', 'publish', 'subscribe']);
  socket.end();
  await w.settled();
  assert.equal(w.connections[0]!.closedBy, 'client');
});

test('witness: a packet split across writes is one packet; two in one write are two', async (t) => {
  const broker = await hostileBroker(t);
  const w = await witness(t, broker.url);
  const socket = await rawClient(t, w);
  const stream = Buffer.concat([bytes(CONNECT('raw-split')), bytes(PUBLISH), bytes({ cmd: 'pingreq' } as Packet)]);
  // One byte per write, each after the last reached the witness's socket.
  for (const byte of stream.subarray(0, 20)) {
    socket.write(Buffer.from([byte]));
    await new Promise((r) => setTimeout(r, 1));
  }
  socket.write(stream.subarray(20));
  const seen = (await packets(w, 5)).filter((p) => p.direction === 'toBroker');
  assert.deepEqual(seen.map(brief), ['toBroker connect', 'toBroker publish id=7', 'toBroker pingreq']);
});

test('witness: a malformed packet is recorded as such, still forwarded, and the broker hangs up', async (t) => {
  const broker = await hostileBroker(t);
  const w = await witness(t, broker.url);
  const socket = await rawClient(t, w);
  socket.write(bytes(CONNECT('raw-bad')));
  await packets(w, 2);
  // Five continuation bytes: the remaining length is longer than MQTT allows.
  socket.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]));
  await w.settled();
  const last = w.packets().at(-1)!;
  assert.equal(last.cmd, 'malformed');
  assert.equal(last.direction, 'toBroker');
  assert.match(last.error ?? '', /variable byte integer|length/i);
  assert.equal(w.connections[0]!.closedBy, 'broker', 'the broker got the bytes and closed on them');
});

test('witness: MQTT 5 answers are parsed in the version the CONNECT set (a PUBACK reason code)', async (t) => {
  const broker = await hostileBroker(t, {
    on: {
      publish: (p, c) => {
        c.send({ cmd: 'puback', messageId: p.messageId, reasonCode: 0x10 } as Packet);
        return true;
      },
    },
  });
  const w = await witness(t, broker.url);
  const socket = await rawClient(t, w);
  socket.write(bytes(CONNECT('raw-v5', 5), 5));
  socket.write(bytes(PUBLISH, 5));
  const seen = await packets(w, 4);
  assert.deepEqual(seen.map(brief).sort(), ['toBroker connect', 'toBroker publish id=7', 'toClient connack', 'toClient puback id=7']);
  assert.equal(seen.find((p) => p.cmd === 'connect')!.protocolVersion, 5);
  assert.equal(seen.find((p) => p.cmd === 'puback')!.reasonCode, 0x10);
});

/** A witness holding one real exchange of a raw client, for the assertion tests below. */
async function qos1Exchange(t: TestContext): Promise<Witness> {
  const broker = await hostileBroker(t);
  const w = await witness(t, broker.url);
  const socket = await rawClient(t, w);
  socket.write(bytes(CONNECT('tool')));
  socket.write(bytes({ ...PUBLISH, dup: false, retain: false } as Packet));
  await packets(w, 4); // the PUBACK is back before we say goodbye
  socket.write(bytes({ cmd: 'disconnect' } as Packet));
  await w.settled();
  return w;
}

test('assertToolMatchesWire: passes on the true lines, fails on an invented, a missing or a misdescribed packet', async (t) => {
  const w = await qos1Exchange(t);
  const truth = ['send: connect', 'receive: connack', 'send: publish', 'receive: puback', 'send: disconnect'];
  assertToolMatchesWire(`${truth.join('\n')}\n`, w, 'tool');
  assertToolMatchesWire(['note: not a packet line', ...truth].join('\n'), w, 'tool');
  const verbose = [
    'send: connect  client-id=tool clean=true protocol=3.1.1 keepalive=30',
    'receive: connack  sessionPresent=false code=0 (accepted)',
    'send: publish  id=7 qos=1 dup=0 retain=0 topic=w/t payload=5B',
    'receive: puback  id=7',
    'send: disconnect',
  ];
  assertToolMatchesWire(verbose.join('\n'), w, 'tool', { verbose: true });

  assert.throws(() => assertToolMatchesWire([...truth.slice(0, 4), 'send: puback', truth[4]].join('\n'), w, 'tool'), /client -> broker/);
  assert.throws(() => assertToolMatchesWire(truth.filter((l) => l !== 'receive: puback').join('\n'), w, 'tool'), /broker -> client/);
  assert.throws(() => assertToolMatchesWire(verbose.map((l) => l.replace('dup=0', 'dup=1')).join('\n'), w, 'tool', { verbose: true }), /dup=1/);
  assert.throws(() => assertToolMatchesWire(verbose.map((l) => l.replace('id=7', 'id=8')).join('\n'), w, 'tool', { verbose: true }), /id=8/);
  // A second `send: connect` is a second connection the wire never had.
  assert.throws(() => assertToolMatchesWire([...truth, 'send: connect'].join('\n'), w, 'tool'), /2 connection\(s\) shown, 1 on the wire/);
  // A fault that swallowed nothing is not taken on trust.
  assert.throws(() => assertToolMatchesWire(truth.join('\n'), w, 'tool', { fault: { swallowed: 'puback' } }), /should have swallowed a puback/);
});

test('assertToolMatchesWire with a fault: the swallowed packet and the reconnect are accounted for, nothing else', async (t) => {
  const broker = await hostileBroker(t);
  const w = await witness(t, broker.url);
  // What a fault proxy in front of the witness lets through: the broker's PUBACK crosses the witness, then the cut.
  const first = await rawClient(t, w);
  first.write(bytes({ ...CONNECT('cut'), clean: false } as Packet));
  first.write(bytes({ ...PUBLISH, dup: false, retain: false } as Packet));
  await packets(w, 4);
  first.destroy();
  const second = await rawClient(t, w);
  second.write(bytes({ ...CONNECT('cut'), clean: false } as Packet));
  second.write(bytes({ ...PUBLISH, retain: false } as Packet));
  second.write(bytes({ cmd: 'disconnect' } as Packet));
  await w.settled();
  const tool = ['send: connect', 'receive: connack', 'send: publish', 'send: connect', 'receive: connack', 'send: publish', 'receive: puback', 'send: disconnect'];
  assert.throws(() => assertToolMatchesWire(tool.join('\n'), w, 'cut'), /connection 1, broker -> client/);
  assertToolMatchesWire(tool.join('\n'), w, 'cut', { fault: { swallowed: 'puback' } });
  // The swallowed packet must be the named one.
  assert.throws(() => assertToolMatchesWire(tool.join('\n'), w, 'cut', { fault: { swallowed: 'pubrec' } }), /connection 1, broker -> client/);
});

const wireBytes = (w: Witness, cmd: string) => w.packets().find((p) => p.cmd === cmd)!.bytes;

test('assertTraceMatchesWire: a --trace record with a wrong QoS or a wrong size fails', async (t) => {
  const w = await qos1Exchange(t);
  const base = { time: 0, leg: 'publisher', seenBy: 'publisher' } as const;
  const records: TraceRecord[] = [
    { ...base, direction: 'send', type: 'connect', clientId: 'tool', bytes: wireBytes(w, 'connect') },
    { ...base, direction: 'receive', type: 'connack', reasonCode: 0, bytes: 4 },
    { ...base, direction: 'send', type: 'publish', messageId: 7, qos: 1, dup: false, retain: false, topic: 'w/t', payloadBytes: 5, bytes: wireBytes(w, 'publish') },
    { ...base, direction: 'receive', type: 'puback', messageId: 7, bytes: 4 },
    { ...base, direction: 'send', type: 'disconnect', bytes: 2 },
  ];
  assertTraceMatchesWire(records, w, 'tool');
  assert.throws(() => assertTraceMatchesWire(records.map((r) => (r.type === 'publish' ? { ...r, qos: 2 } : r)), w, 'tool'), /qos=2/);
  assert.throws(() => assertTraceMatchesWire(records.map((r) => (r.type === 'publish' ? { ...r, bytes: r.bytes! + 1 } : r)), w, 'tool'), /bytes=/);
});

test('witness: settled() is bounded: a connection left open fails it, naming the client', async (t) => {
  const broker = await hostileBroker(t);
  const w = await witness(t, broker.url);
  const socket = await rawClient(t, w);
  socket.write(bytes(CONNECT('lingers')));
  await packets(w, 2);
  await assert.rejects(w.settled(100), /connections still open after 100 ms: #1 lingers/);
});

test('assertToolMatchesWire: what the broker sent after the client said DISCONNECT may go unread, nothing before it may', async (t) => {
  const broker = await hostileBroker(t, {
    on: {
      disconnect: (_p, c) => {
        // A late PUBLISH, then the broker closes: the client is gone before it can read it.
        c.send({ ...PUBLISH, dup: false, retain: false, messageId: 8 } as Packet);
        c.close();
        return true;
      },
    },
  });
  const w = await witness(t, broker.url);
  const socket = await rawClient(t, w);
  socket.write(bytes(CONNECT('late')));
  await packets(w, 2);
  socket.write(bytes({ cmd: 'disconnect' } as Packet));
  await w.settled();
  assert.equal(w.packets().at(-1)?.cmd, 'publish', 'the late PUBLISH crossed after the DISCONNECT');
  assertToolMatchesWire('send: connect\nreceive: connack\nsend: disconnect\n', w, 'late');
  assert.throws(() => assertToolMatchesWire('send: connect\nsend: disconnect\n', w, 'late'), /broker -> client/);
});
