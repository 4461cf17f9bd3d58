// A small chaos run, for real: 300 numbered messages through proxies that cut
// every 20-60 ms (fixed seed), against aedes and mosquitto, and a burst that
// overflows mosquitto's queue. The outcome of a
// race is not fixed; the accounting must add up whatever happened.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChaos, type QosRun } from '../src/faults/chaos';
import type { BrokerKind } from '../src/broker/kind';
import type { QoS } from '../src/mqtt/qos';
import { needsMosquitto } from './support/mosquitto';

const SMALL = { count: 300, cut: { minMs: 20, maxMs: 60 }, seed: 7, burst: false, rate: 1000 };

async function chaos(engine: BrokerKind, qos: QoS[], burst = false): Promise<QosRun[]> {
  const report = await runChaos({ ...SMALL, engine, qos, burst }, () => undefined);
  return report.runs;
}

function addsUp(run: QosRun): void {
  const t = run.tally;
  assert.equal(t.received + t.lost, t.sent, `QoS ${run.qos}: received + lost = sent`);
  assert.ok(t.acked <= t.sent && t.ackedButLost <= t.lost && t.ackedButLost <= t.acked, `QoS ${run.qos}: acked within sent`);
  assert.ok(t.acked + t.failed <= t.sent && t.failedAndLost <= t.failed, `QoS ${run.qos}: failed within sent`);
  assert.ok(t.outOfOrder < t.received || t.received === 0);
}

test('chaos on aedes, QoS 0 and 1: the accounting adds up, QoS 1 loses nothing silently, our resends carry DUP=1', async () => {
  const runs = await chaos('aedes', [0, 1]);
  for (const run of runs) addsUp(run);
  const q1 = runs.find((r) => r.qos === 1)!;
  assert.ok(q1.cuts.publisher + q1.cuts.subscriber > 0, 'the proxies did cut');
  assert.equal(q1.reconnects.publisher + q1.reconnects.subscriber > 0, true, 'and the clients reconnected');
  // Nothing lost silently: a loss is either a publish MQTT.js failed with an error (the app was told) or none.
  assert.equal(q1.tally.lost, q1.tally.failedAndLost, q1.verdict.text);
  assert.equal(q1.tally.ackedButLost, 0, q1.verdict.text);
  assert.ok(q1.verdict.kept, q1.verdict.text);
  // [MQTT-3.3.1-1] every PUBLISH our publisher sent again was marked DUP=1 on the wire (seen by the proxy).
  assert.equal(q1.resends.publisher.withoutDup, 0);
});

test('chaos on mosquitto, QoS 2: exactly once through the cuts', needsMosquitto, async () => {
  const [q2] = await chaos('mosquitto', [2]);
  addsUp(q2!);
  assert.ok(q2!.cuts.publisher + q2!.cuts.subscriber > 0);
  assert.equal(q2!.tally.lost, q2!.tally.failedAndLost, q2!.verdict.text);
  assert.equal(q2!.tally.duplicated, 0, q2!.verdict.text);
  assert.equal(q2!.resends.publisher.withoutDup, 0);
});

test('burst on mosquitto: it acknowledges every QoS 1 message, then drops what passes its queue of 1000', needsMosquitto, async () => {
  const report = await runChaos({ ...SMALL, count: 1200, rate: 5000, engine: 'mosquitto', qos: [1], burst: true }, () => undefined);
  const [q1] = report.runs;
  addsUp(q1!);
  assert.equal(q1!.tally.acked, 1200);
  assert.equal(q1!.tally.received, 1000, 'stock max_queued_messages 1000');
  assert.equal(q1!.tally.ackedButLost, 200);
  assert.ok(!q1!.verdict.kept);
  assert.ok(q1!.brokerSaid.some((l) => /dropped/.test(l)), 'mosquitto says so in its log');
});
