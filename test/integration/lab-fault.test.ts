// The lab with --fault against the embedded aedes broker: each cut point
// produces its resend on the wire, and the trace and the diagram show the cut,
// the reconnect and the resend as they happened; behind the witness (between the
// fault proxy and aedes or mosquitto) every record and arrow is held against the wire.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cellOf } from '../../src/lab/matrix';
import { runPairs } from '../../src/lab/pairs';
import { pairRecords } from '../../src/lab/trace';
import type { CutRecord, TraceRecord } from '../../src/mqtt/trace';
import type { CutPoint } from '../../src/wire/fault';
import { runCli } from '../support/cli';
import { testBroker } from '../support/broker';
import { needsMosquitto, testMosquitto } from '../support/mosquitto';
import { assertLabMatchesWire, assertLabOutputMatchesWire, assertLabTraceMatchesWire, labDiagrams, witness } from '../support/witness';

type AnyRecord = TraceRecord | CutRecord;

/** What the publisher itself logged, `direction: type`, with dup on PUBLISH. */
function publisherSaw(records: readonly AnyRecord[]): string[] {
  return records
    .filter((r): r is TraceRecord => r.seenBy === 'publisher')
    .map((r) => `${r.direction}: ${r.type}${r.type === 'publish' ? ` dup=${r.dup}` : ''}`);
}

test('npm start --fault puback --pub 1 --sub 1: the PUBLISH goes twice with one id, the second DUP=1, after a second CONNECT; delivered', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-qos-lab-fault-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const json = join(dir, 'trace.jsonl');
  const result = await runCli('lab', ['--fault', 'puback', '--pub', '1', '--sub', '1', '--trace', json]).done;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^ *[\d.]+ \|~+ CUT ~+\| +\| {2}connection cut by the proxy \(before PUBACK\)$/m);
  assert.match(result.stdout, /^ *[\d.]+ \| X-+ PUBACK id=\d+ -+\| +\| {2}lost in the cut: never arrived$/m);
  assert.match(result.stdout, /^ *[\d.]+ \|-+ PUBLISH q1 id=\d+ dup -+>\|/m);
  assert.match(result.stdout, /^pub 1 {3}1 \[1\] ~4\+\d/m);

  const records = readFileSync(json, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as AnyRecord);
  const publishes = records.filter((r): r is TraceRecord => r.seenBy === 'publisher' && r.type === 'publish');
  assert.deepEqual(publishes.map((r) => r.dup), [false, true]);
  assert.equal(publishes[0]!.messageId, publishes[1]!.messageId);
  assert.deepEqual(publisherSaw(records).slice(0, 7), ['send: connect', 'receive: connack', 'send: publish dup=false', 'send: connect', 'receive: connack', 'send: publish dup=true', 'receive: puback']);
  // The broker sent the first PUBACK; the proxy swallowed it and cut.
  assert.equal(records.filter((r) => r.seenBy === 'broker' && r.leg === 'publisher' && r.type === 'puback').length, 2);
  assert.deepEqual(
    records.filter((r) => r.seenBy === 'proxy').map((r) => ('reason' in r ? `cut ${r.reason}` : `${r.type} dropped=${r.dropped}`)),
    ['puback dropped=true', 'cut before puback'],
  );
  assert.ok(records.some((r) => r.seenBy === 'subscriber' && r.direction === 'receive' && r.type === 'publish' && r.qos === 1));
});

async function faultedPair(packet: CutPoint) {
  const pairs = await runPairs({ protocol: 4, pubs: [2], subs: [2], topic: `lab-fault-${packet}`, message: 'hello', fault: { kind: 'before', packet } }, () => undefined, () => undefined);
  const [pair] = pairs;
  assert.ok(pair);
  assert.equal(cellOf(pair).delivered, 2);
  assert.deepEqual(cellOf(pair).fault.cuts, [`before ${packet}`]);
  return { pair, records: pairRecords(pair, 0, 4) };
}

test('lab --fault pubrec: the QoS 2 PUBLISH is resent with DUP=1 after the reconnect, and the flow completes', async () => {
  const { pair, records } = await faultedPair('pubrec');
  assert.deepEqual(publisherSaw(records).filter((l) => !l.includes('disconnect')), [
    'send: connect', 'receive: connack', 'send: publish dup=false',
    'send: connect', 'receive: connack', 'send: publish dup=true', 'receive: pubrec', 'send: pubrel', 'receive: pubcomp',
  ]);
  assert.deepEqual(cellOf(pair).fault.lost, ['PUBREC']);
  assert.deepEqual(cellOf(pair).fault.resent, ['PUBLISH (DUP=1)']);
});

test('lab --fault pubcomp: the PUBREL is resent after the reconnect, the PUBLISH is not', async () => {
  const { pair, records } = await faultedPair('pubcomp');
  assert.deepEqual(publisherSaw(records).filter((l) => !l.includes('disconnect')), [
    'send: connect', 'receive: connack', 'send: publish dup=false', 'receive: pubrec', 'send: pubrel',
    'send: connect', 'receive: connack', 'send: pubrel', 'receive: pubcomp',
  ]);
  const pubrels = records.filter((r) => r.seenBy === 'publisher' && r.type === 'pubrel') as TraceRecord[];
  assert.equal(pubrels[0]!.messageId, pubrels[1]!.messageId);
  assert.deepEqual(cellOf(pair).fault.resent, ['PUBREL']);
});

for (const engine of ['aedes', 'mosquitto'] as const) {
  for (const packet of ['puback', 'pubrec', 'pubcomp'] as const) {
    test(`${engine} behind the witness, lab --fault ${packet}: the arrows (the lost one included) and the records equal the wire`, engine === 'mosquitto' ? needsMosquitto : {}, async (t) => {
      const broker = engine === 'aedes' ? await testBroker(t) : await testMosquitto(t);
      const wire = await witness(t, broker.url);
      const qos = packet === 'puback' ? 1 : 2;
      const pairs = await runPairs({ url: wire.url, protocol: 4, pubs: [qos], subs: [qos], topic: `lab-witness-${packet}`, message: 'hello', fault: { kind: 'before', packet } }, () => undefined, () => undefined);
      const [pair] = pairs;
      assert.ok(pair);
      assert.equal(cellOf(pair).delivered, qos);
      assert.equal(wire.of(pair.clients.publisherId).length, 2, 'the publisher connected twice, through the proxy, to the broker');
      await wire.settled();
      assertLabMatchesWire(pairs, wire, { fault: { swallowed: packet } });
      // As drawn: the lost arrow stops short of the publisher, and is the wire's packet all the same.
      const drawn = labDiagrams(pairs);
      assert.match(drawn, new RegExp(`X-+ ${packet.toUpperCase()} id=\\d+`));
      assert.equal(assertLabOutputMatchesWire(drawn, wire), 1);
      // The --trace file of the pair: the proxy's dropped record accounts for the packet the publisher never got.
      assertLabTraceMatchesWire(pairRecords(pair, 0, 4), wire);
    });
  }
}
