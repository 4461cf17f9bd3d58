// The lab for real: the 9 pairs through the embedded aedes broker and through
// mosquitto, each run once, asserting the matrix from what was on the wire;
// where the lab takes --broker, the witness in front of the broker holds every
// record and arrow against the bytes that crossed.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { cellOf } from '../../src/lab/matrix';
import { brokerLaneLabel } from '../../src/lab/diagram';
import { runPairs, type LabOptions, type LabPair } from '../../src/lab/pairs';
import type { TraceRecord } from '../../src/mqtt/trace';
import { QOS_LEVELS, effectiveQos, flowPackets, type QoS } from '../../src/mqtt/qos';
import { testBroker } from '../support/broker';
import { packetLines, runCli } from '../support/cli';
import { run } from '../support/in-process';
import { needsMosquitto, testMosquitto } from '../support/mosquitto';
import { assertLabMatchesWire, assertLabOutputMatchesWire, assertLabTraceMatchesWire, assertToolMatchesWire, assertTraceMatchesWire, labDiagrams, witness } from '../support/witness';

const ALL: LabOptions = { protocol: 4, pubs: QOS_LEVELS, subs: QOS_LEVELS, topic: 'lab-test', message: 'hello' };

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-qos-lab-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What each client logs for one pair, `direction: type`, as the pair tools print it. */
function clientFlow(pair: { publishQos: QoS; delivered: QoS }): { publisher: string[]; subscriber: string[] } {
  const leg = (qos: QoS, sender: boolean) => flowPackets(qos).map((cmd, i) => `${(i % 2 === 0) === sender ? 'send' : 'receive'}: ${cmd}`);
  return {
    publisher: ['send: connect', 'receive: connack', ...leg(pair.publishQos, true), 'send: disconnect'],
    subscriber: ['send: connect', 'receive: connack', 'send: subscribe', 'receive: suback', ...leg(pair.delivered, false), 'send: disconnect'],
  };
}

function assertMinEverywhere(pairs: LabPair[]): void {
  assert.deepEqual(
    pairs.map((p) => [p.publishQos, p.subscribeQos, cellOf(p).delivered, cellOf(p).mismatch]),
    QOS_LEVELS.flatMap((pub) => QOS_LEVELS.map((sub) => [pub, sub, effectiveQos(pub, sub), false])),
  );
  for (const pair of pairs) {
    const cell = cellOf(pair);
    const delivered = effectiveQos(pair.publishQos, pair.subscribeQos);
    assert.deepEqual(cell.packets, { publisher: flowPackets(pair.publishQos).length, subscriber: flowPackets(delivered).length });
    assert.equal(cell.ackMs === null, pair.publishQos === 0);
    // MQTT.js hands a QoS 2 message to the application at PUBREL, QoS 0 and 1 at PUBLISH.
    assert.equal(cell.appGotItAt, delivered === 2 ? 'PUBREL' : 'PUBLISH');
  }
}

test('aedes: the 9 pairs deliver at MIN(pub, sub), every packet seen by both ends, ids mapped', async () => {
  const pairs = await runPairs(ALL, () => undefined, () => undefined);
  assertMinEverywhere(pairs);
  for (const pair of pairs) {
    const { timeline } = pair;
    assert.equal(timeline.broker, 'tap');
    // The tap and the client agree on every packet: each arrow has both its ends.
    assert.deepEqual(timeline.arrows.filter((a) => a.sentAt === undefined || a.receivedAt === undefined), []);
    // aedes forwards a QoS 2 message as soon as the PUBLISH arrives, before PUBREL.
    assert.equal(cellOf(pair).forwardedAfter, 'PUBLISH');
    const [message] = timeline.messages;
    const delivered = effectiveQos(pair.publishQos, pair.subscribeQos);
    if (pair.publishQos > 0) assert.equal(typeof message?.publisherId, 'number');
    if (delivered > 0) {
      // The broker's id toward the subscriber is the one its PUBLISH and every ack on that leg carry.
      const subLeg = timeline.arrows.filter((a) => a.leg === 'subscriber' && ['publish', 'puback', 'pubrec', 'pubrel', 'pubcomp'].includes(a.packet.cmd));
      assert.deepEqual(new Set(subLeg.map((a) => a.packet.messageId)), new Set([message?.subscriberId]));
      const pubLeg = timeline.arrows.filter((a) => a.leg === 'publisher' && ['publish', 'puback', 'pubrec', 'pubrel', 'pubcomp'].includes(a.packet.cmd));
      assert.deepEqual(new Set(pubLeg.map((a) => a.packet.messageId)), new Set([message?.publisherId]));
    }
  }
});

test('aedes behind the witness (--broker): the 9 pairs, every client record and every arrow equal the wire', async (t) => {
  const wire = await witness(t, (await testBroker(t)).url);
  const pairs = await runPairs({ ...ALL, url: wire.url }, () => undefined, () => undefined);
  assertMinEverywhere(pairs);
  await wire.settled();
  assertLabMatchesWire(pairs, wire);
  assert.equal(assertLabOutputMatchesWire(labDiagrams(pairs, true), wire), 9);
  // No tap on an external broker: the two legs share no observer, so the legend says which clock orders them
  // (with a tap, test/wire-lab.test.ts holds the drawn order against the tap's).
  for (const pair of pairs) assert.match(brokerLaneLabel(pair.timeline, 'the broker', null), /arrows of different legs ordered by when each client logged them/);
});

test('npm start --trace --mermaid: the trace holds every packet the clients saw, and a sequenceDiagram per pair', async (t) => {
  const dir = tmp(t);
  const json = join(dir, 'trace.jsonl');
  const mermaid = join(dir, 'lab.md');
  const result = await runCli('lab', ['--trace', json, '--mermaid', mermaid]).done;
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.equal(result.stdout.match(/^== publish QoS \d, subscribe QoS \d, delivered at QoS \d/gm)?.length, 9);
  assert.match(result.stdout, /^pub 2 {3}0 \[0\] {2}4\+1 {2}\S+ +1 \[1\] {2}4\+2 {2}\S+ +2 \[2\] {2}4\+4 {2}\S+$/m);

  const records = readFileSync(json, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as TraceRecord);
  for (const pub of QOS_LEVELS) {
    for (const sub of QOS_LEVELS) {
      const mine = records.filter((r) => r.pair === `pub ${pub} / sub ${sub}`);
      const seen = (by: string) => mine.filter((r) => r.seenBy === by).map((r) => `${r.direction}: ${r.type}`);
      const expected = clientFlow({ publishQos: pub, delivered: effectiveQos(pub, sub) });
      assert.deepEqual(seen('publisher'), expected.publisher, `pub ${pub} / sub ${sub}`);
      assert.deepEqual(seen('subscriber'), expected.subscriber, `pub ${pub} / sub ${sub}`);
      assert.equal(seen('broker').length, expected.publisher.length + expected.subscriber.length);
      const forwarded = mine.find((r) => r.seenBy === 'subscriber' && r.type === 'publish');
      assert.deepEqual([forwarded?.qos, forwarded?.topic, forwarded?.payloadBytes], [effectiveQos(pub, sub), `qos-lab/pub${pub}-sub${sub}`, 15]);
      assert.ok(mine.every((r) => (r.bytes ?? 0) >= 2 && ['publisher', 'subscriber'].includes(r.leg)));
    }
  }

  const blocks = [...readFileSync(mermaid, 'utf8').matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]!.trimEnd().split('\n'));
  assert.equal(blocks.length, 9);
  for (const block of blocks) {
    assert.equal(block[0], 'sequenceDiagram');
    for (const line of block.slice(1)) assert.match(line, /^ {2}(title [^;#:]+|participant [PBS] as [^;#:]+|[PBS]->>[PBS]: [A-Z]+[^;#:]*|Note over S: [^;#:]+)$/);
  }
});

test('npm start --json FILE, the old spelling of --trace: one note on stderr, the trace written and announced', async (t) => {
  const file = join(tmp(t), 'old.jsonl');
  const result = await run('lab', ['--json', file, '--pub', '1', '--sub', '1']);
  assert.equal(result.code, 0, result.err);
  assert.equal(result.err, '--json FILE is now --trace FILE (the old spelling still works)\n');
  const records = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as TraceRecord);
  assert.match(result.out, new RegExp(`^trace: ${records.length} packet records written to ${file.replace(/[.]/g, '\\.')}$`, 'm'));
  assert.deepEqual(records.filter((r) => r.seenBy === 'publisher').map((r) => `${r.direction}: ${r.type}`), clientFlow({ publishQos: 1, delivered: 1 }).publisher);
});

test('publish-with-qos and subscribe-with-qos --trace: one record per packet line printed', async (t) => {
  const broker = await witness(t, (await testBroker(t)).url);
  const dir = tmp(t);
  const common = ['--broker', broker.url, '--topic', 'json/t', '--qos', '2'];
  const sub = runCli('subscribe', [...common, '--count', '1', '--timeout', '20', '--client-id', 'json-sub', '--trace', join(dir, 'sub.jsonl')], { t });
  await sub.waitFor(/^subscribed to/m);
  const pub = await runCli('publish', [...common, '--client-id', 'json-pub', '--trace', join(dir, 'pub.jsonl'), '--username', 'u', '--password', 's3cret']).done;
  const got = await sub.done;
  for (const [tool, run, leg] of [['pub', pub, 'publisher'], ['sub', got, 'subscriber']] as const) {
    assert.equal(run.code, 0, run.stderr);
    const text = readFileSync(join(dir, `${tool}.jsonl`), 'utf8');
    assert.doesNotMatch(text, /s3cret/);
    const records = text.trimEnd().split('\n').map((l) => JSON.parse(l) as TraceRecord);
    assert.deepEqual(records.map((r) => `${r.direction}: ${r.type}`), packetLines(run.stdout));
    assert.ok(records.every((r) => r.leg === leg && r.seenBy === leg));
    await broker.settled();
    assertTraceMatchesWire(records, broker, `json-${tool}`);
    assertToolMatchesWire(run.stdout, broker, `json-${tool}`);
  }
});

test('publish-with-qos --trace at QoS 0, through the witness: the records are the wire', async (t) => {
  const broker = await witness(t, (await testBroker(t)).url);
  const file = join(tmp(t), 'q0.jsonl');
  const run = await runCli('publish', ['--broker', broker.url, '--qos', '0', '--client-id', 'json-q0', '--trace', file]).done;
  assert.equal(run.code, 0, run.stderr);
  await broker.settled();
  const records = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as TraceRecord);
  // No messageId on a QoS 0 PUBLISH record: the wire carries none.
  assertTraceMatchesWire(records, broker, 'json-q0');
});

test('mosquitto: the 9 pairs deliver at MIN(pub, sub); the broker lane is derived; QoS 2 is forwarded at PUBREL', needsMosquitto, async (t) => {
  const broker = await testMosquitto(t);
  const wire = await witness(t, broker.url);
  const pairs = await runPairs({ ...ALL, url: wire.url }, () => undefined, () => undefined);
  assertMinEverywhere(pairs);
  await wire.settled();
  assertLabMatchesWire(pairs, wire);
  assert.equal(assertLabOutputMatchesWire(labDiagrams(pairs), wire), 9);
  // No tap on an external broker: the two legs share no observer, so the legend says which clock orders them
  // (with a tap, test/wire-lab.test.ts holds the drawn order against the tap's).
  for (const pair of pairs) assert.match(brokerLaneLabel(pair.timeline, 'the broker', null), /arrows of different legs ordered by when each client logged them/);
  for (const pair of pairs) {
    assert.equal(pair.timeline.broker, 'derived');
    const delivered = effectiveQos(pair.publishQos, pair.subscribeQos);
    if (delivered > 0) assert.equal(typeof pair.timeline.messages[0]?.subscriberId, 'number');
    // mosquitto holds an incoming QoS 2 message until the publisher's PUBREL.
    assert.equal(cellOf(pair).forwardedAfter, pair.publishQos === 2 ? 'PUBREL' : 'PUBLISH');
  }
});

test('mosquitto max_qos 1, MQTT 5: the matrix shows what the broker did, not what MIN() predicts', needsMosquitto, async (t) => {
  const broker = await testMosquitto(t, { config: ['max_qos 1'] });
  const wire = await witness(t, broker.url);
  const json = join(tmp(t), 'trace.jsonl');
  const result = await runCli('lab', ['--broker', wire.url, '--protocol', '5', '--trace', json]).done;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^broker lane: derived from the two client legs/m);
  // Each cell starts `delivered [expected]`, with ! where they differ.
  const row = (pub: number) => [...(result.stdout.match(new RegExp(`^pub ${pub} {3}.*$`, 'm'))?.[0] ?? '').matchAll(/\S \[\d\]!?/g)].map((m) => m[0]);
  assert.deepEqual(row(0), ['0 [0]', '0 [0]', '0 [0]']);
  assert.deepEqual(row(1), ['0 [0]', '1 [1]', '1 [1]']);
  // mosquitto refuses a QoS 2 PUBLISH with DISCONNECT 0x9b: nothing is delivered, against MIN()'s 0, 1, 2.
  assert.deepEqual(row(2), ['- [0]!', '- [1]!', '- [2]!']);
  assert.match(result.stdout, /^! pub 2 \/ sub 2: nothing delivered, MIN\(2, 2\) = 2 expected; granted QoS 1; the broker sent the publisher DISCONNECT 0x9b QoS not supported; its CONNACK announced Maximum QoS 1$/m);
  await wire.settled();
  const records = readFileSync(json, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as TraceRecord);
  // SUBSCRIBE as sent (qos 2, not the granted 1), no id on a QoS 0 PUBLISH, mosquitto's 3-byte DISCONNECT 0x9B: all as on the wire.
  assertLabTraceMatchesWire(records, wire);
  assert.equal(assertLabOutputMatchesWire(result.stdout, wire), 9);
});

test('npm start | head: a reader that stops early ends the lab quietly, no stack trace', async (t) => {
  const run = runCli('lab', ['--pub', '0,1', '--sub', '0,1'], { t });
  run.child.stdout!.once('data', () => run.child.stdout!.destroy());
  const result = await run.done;
  assert.equal(result.stderr, '');
  assert.equal(result.code, 0);
});
