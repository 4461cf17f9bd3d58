// The pure parts of the fault lab: the PRNG, the --fault grammar, packet
// framing, and the store that marks redeliveries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { parseChaos, parseLoad, parsePublish, parseScenario, parseSubscribe } from '../../src/cli/options';
import { tally, verdict } from '../../src/chaos/accounting';
import { tallyOf } from '../../src/numbered/tally';
import { parseFault } from '../../src/wire/fault';
import { frameSize, framer } from '../../src/wire/framer';
import { nextRandom, randomInts } from '../../src/wire/prng';
import { DupStore } from '../../src/mqtt/dup-store';

test('the PRNG gives the same sequence for the same seed, a different one for another, within range', () => {
  const draw = (seed: number) => Array.from({ length: 50 }, randomInts(seed, 200, 500));
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
  const values = draw(7);
  assert.ok(values.every((v) => Number.isInteger(v) && v >= 200 && v <= 500), String(values));
  assert.ok(new Set(values).size > 25, 'spread out, not stuck');
  const { value, next } = nextRandom(0);
  assert.ok(value >= 0 && value < 1);
  assert.equal(nextRandom(0).next, next, 'pure: same state in, same state out');
});

test('--fault grammar: the three cut points and every:MIN-MAX[:SEED]', () => {
  assert.deepEqual(parseFault('puback'), { kind: 'before', packet: 'puback' });
  assert.deepEqual(parseFault('PUBREC'), { kind: 'before', packet: 'pubrec' });
  assert.deepEqual(parseFault('every:300'), { kind: 'every', minMs: 300, maxMs: 300, seed: 1 });
  assert.deepEqual(parseFault('every:200-500:42'), { kind: 'every', minMs: 200, maxMs: 500, seed: 42 });
  for (const bad of ['', 'pubrel', 'every', 'every:0', 'every:500-200', 'every:200-500:x', 'every:1:99999999999']) {
    assert.equal(typeof parseFault(bad), 'string', bad);
  }
});

test('the framer splits a stream into whole packets however it is chunked', () => {
  const packets: Packet[] = [
    { cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(300, 1), qos: 1, messageId: 7, dup: false, retain: false },
    { cmd: 'puback', messageId: 7 },
    { cmd: 'pingreq' },
  ];
  const bytes = Buffer.concat(packets.map((p) => mqttPacket.generate(p)));
  assert.equal(frameSize(bytes), mqttPacket.generate(packets[0]!).length, 'two-byte remaining length');
  for (const size of [1, 3, 64, bytes.length]) {
    const split = framer();
    const frames: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) frames.push(...split(bytes.subarray(i, i + size)));
    assert.deepEqual(
      frames.map((f) => f.length),
      packets.map((p) => mqttPacket.generate(p).length),
      `chunks of ${size}`,
    );
  }
});

function replay(store: DupStore): Promise<Packet[]> {
  return new Promise((resolve) => {
    const out: Packet[] = [];
    const stream = store.createStream();
    stream.on('data', (p: Packet) => out.push(p));
    stream.on('end', () => resolve(out));
  });
}

test('DupStore: a PUBLISH that was written comes back with DUP=1, one never written with DUP=0 [MQTT-3.3.1-1]', async () => {
  const store = new DupStore();
  const publish = (messageId: number): Packet => ({ cmd: 'publish', topic: 't', payload: 'x', qos: 1, messageId, dup: false, retain: false });
  store.put(publish(1), () => undefined);
  store.put(publish(2), () => undefined); // stored while offline: never on the wire
  store.noteSent(publish(1));
  store.put({ cmd: 'pubrel', messageId: 3 }, () => undefined);
  const replayed = await replay(store);
  assert.deepEqual(
    replayed.map((p) => [p.cmd, p.messageId, p.cmd === 'publish' ? p.dup : null]),
    [
      ['publish', 1, true],
      ['publish', 2, false],
      ['pubrel', 3, null],
    ],
  );
  // The id is freed at PUBACK and reused for a new message: that one is not a redelivery.
  store.del({ messageId: 1 }, () => undefined);
  store.put(publish(1), () => undefined);
  const again = await replay(store);
  const reused = again.find((p) => p.messageId === 1 && p.cmd === 'publish');
  assert.ok(reused?.cmd === 'publish', 'the reused id is replayed as a PUBLISH');
  assert.equal(reused.dup, false);
});

test('chaos accounting: lost, duplicated, out of order, and lost after an acknowledgement', () => {
  const acked = [true, true, true, false, true];
  const t = tally(tallyOf(5, [0, 2, 1, 2, 4]), acked);
  assert.deepEqual(t, { sent: 5, acked: 4, received: 4, duplicated: 1, lost: 1, ackedButLost: 0, failed: 0, failedAndLost: 0, outOfOrder: 1 });
  assert.equal(tally(tallyOf(3, [0, 2]), [true, true, true]).ackedButLost, 1);
  const told = tally(tallyOf(3, [0, 2]), [true, false, true], [false, true, false]);
  assert.deepEqual([told.lost, told.failed, told.failedAndLost, told.ackedButLost], [1, 1, 1, 0]);
});

test('verdicts: QoS 0 may lose; QoS 1 must not lose; QoS 2 must not lose or duplicate', () => {
  const base = { sent: 10, acked: 10, received: 10, duplicated: 0, lost: 0, ackedButLost: 0, failed: 0, failedAndLost: 0, outOfOrder: 0 };
  assert.ok(verdict(0, { ...base, received: 7, lost: 3 }).kept);
  assert.ok(verdict(1, { ...base, duplicated: 4 }).kept);
  assert.ok(!verdict(1, { ...base, received: 9, lost: 1, ackedButLost: 1 }).kept);
  assert.match(verdict(1, { ...base, received: 9, lost: 1, ackedButLost: 1 }).text, /after the broker had acknowledged/);
  assert.ok(!verdict(2, { ...base, duplicated: 1 }).kept);
  // A publish the library failed with an error is not a silent loss: the application was told.
  assert.ok(verdict(1, { ...base, acked: 9, received: 9, lost: 1, failed: 1, failedAndLost: 1 }).kept);
  assert.ok(verdict(2, base).kept);
});

test('--fault on the command line: parsed once for both tools, refused for a non-TCP broker', () => {
  const pub = parsePublish(['--fault', 'pubrec', '--qos', '2', '--broker', 'localhost:1884']);
  assert.equal(pub.kind === 'run' && pub.options.fault?.kind, 'before');
  const sub = parseSubscribe(['--fault', 'every:100-200:3']);
  assert.deepEqual(sub.kind === 'run' && sub.options.fault, { kind: 'every', minMs: 100, maxMs: 200, seed: 3 });
  const plain = parsePublish([]);
  assert.equal(plain.kind === 'run' && plain.options.fault, undefined);
  assert.throws(() => parsePublish(['--fault', 'pubrel']), /--fault must be puback \| pubrec \| pubcomp/);
  assert.throws(() => parsePublish(['--fault', 'puback', '--broker', 'ws://localhost:8080']), /--fault needs an mqtt:\/\/ broker/);
});

test('--engine picks the broker scenario, chaos and load start; the same choices and the same check everywhere', () => {
  const engineOf = (parsed: { kind: string; options?: { engine: string } }) => (parsed.kind === 'run' ? parsed.options?.engine : undefined);
  assert.equal(engineOf(parseScenario(['offline'])), 'aedes');
  assert.equal(engineOf(parseScenario(['offline', '--engine', 'mosquitto'])), 'mosquitto');
  assert.equal(engineOf(parseChaos(['--engine', 'mosquitto'])), 'mosquitto');
  assert.equal(engineOf(parseLoad([], false)), 'aedes');
  assert.equal(engineOf(parseLoad([], true)), 'mosquitto');
  for (const parse of [(a: string[]) => parseChaos(a), (a: string[]) => parseScenario(['offline', ...a]), (a: string[]) => parseLoad(a, true)]) {
    assert.throws(() => parse(['--engine', 'hivemq']), /Invalid values: Argument: engine, Given: "hivemq"/);
    assert.throws(() => parse(['--engine', 'aedes', '--engine', 'aedes']), /--engine was given 2 times/);
  }
  // The old spelling now means a running broker: it is refused with the new one named, not dialled.
  assert.throws(() => parseChaos(['--broker', 'mosquitto']), /--broker 'mosquitto' names a running broker; to start mosquitto on loopback, use --engine mosquitto/);
});
