// A small chaos run, for real: 300 numbered messages through proxies that cut
// every 20-60 ms (fixed seed), against aedes and mosquitto, and a burst that
// overflows mosquitto's queue. Asserted: what does not depend on where a cut
// lands (every message published, no stall, our resends marked DUP, the proxies
// cut and the clients came back, QoS 2's exactly once on mosquitto). Not
// asserted on aedes QoS 1: whether a message acknowledged just before a cut
// reaches the subscriber is a race in aedes's session takeover that is not
// fixed; the test reports that outcome as a diagnostic instead.
// (received + lost = sent and the like hold by construction of the tally, so
// they are not asserted.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChaos, type QosRun } from '../../src/chaos/chaos';
import type { BrokerKind } from '../../src/broker/kind';
import type { QoS } from '../../src/mqtt/qos';
import { needsMosquitto } from '../support/mosquitto';

const SMALL = { count: 300, cut: { minMs: 20, maxMs: 60 }, seed: 7, burst: false, rate: 1000 };

async function chaos(engine: BrokerKind, qos: QoS[], burst = false): Promise<QosRun[]> {
  const report = await runChaos({ ...SMALL, engine, qos, burst }, () => undefined);
  return report.runs;
}

/** What a cut cannot change: every message was published, nothing stalled or came malformed. */
function ranThrough(run: QosRun, count: number): void {
  assert.equal(run.tally.sent, count, `QoS ${run.qos}: the publisher issued every message`);
  assert.equal(run.stalled, false, `QoS ${run.qos}: no stall`);
  assert.equal(run.malformed, 0, `QoS ${run.qos}: no malformed packet`);
  assert.ok(run.tally.received > 0, `QoS ${run.qos}: something arrived`);
}

test('chaos on aedes, QoS 0 and 1: every message published through the cuts, the clients came back, our resends carry DUP=1', async (t) => {
  const runs = await chaos('aedes', [0, 1]);
  for (const run of runs) ranThrough(run, SMALL.count);
  // MQTT.js never sends a QoS 0 message twice: a duplicate would be the proxy's or the broker's doing.
  assert.equal(runs.find((r) => r.qos === 0)!.tally.duplicated, 0);
  const q1 = runs.find((r) => r.qos === 1)!;
  assert.ok(q1.cuts.publisher + q1.cuts.subscriber > 0, 'the proxies did cut');
  assert.equal(q1.reconnects.publisher + q1.reconnects.subscriber > 0, true, 'and the clients reconnected');
  // [MQTT-3.3.1-1] every PUBLISH our publisher sent again was marked DUP=1 on the wire (seen by the proxy).
  // Whether a cut finds a PUBLISH in flight is timing (loopback acks in well under a millisecond): how
  // many were resent is reported; that none went out again without DUP=1 is asserted.
  t.diagnostic(`aedes QoS 1: ${q1.cuts.publisher} publisher-side cut(s), ${q1.resends.publisher.withDup} resend(s) with DUP=1`);
  assert.equal(q1.resends.publisher.withoutDup, 0);
  // The race (see the header): reported, not asserted.
  t.diagnostic(`aedes QoS 1: ${q1.verdict.text}; lost ${q1.tally.lost}, of them failed with an error ${q1.tally.failedAndLost}, acked but lost ${q1.tally.ackedButLost}`);
});

test('chaos on mosquitto, QoS 2: exactly once through the cuts', needsMosquitto, async () => {
  const [q2] = await chaos('mosquitto', [2]);
  ranThrough(q2!, SMALL.count);
  assert.ok(q2!.cuts.publisher + q2!.cuts.subscriber > 0);
  assert.equal(q2!.tally.lost, q2!.tally.failedAndLost, q2!.verdict.text);
  assert.equal(q2!.tally.duplicated, 0, q2!.verdict.text);
  assert.equal(q2!.resends.publisher.withoutDup, 0);
});

test('burst on mosquitto: it acknowledges every QoS 1 message, then drops what passes its queue of 1000', needsMosquitto, async () => {
  const report = await runChaos({ ...SMALL, count: 1200, rate: 5000, engine: 'mosquitto', qos: [1], burst: true }, () => undefined);
  const [q1] = report.runs;
  ranThrough(q1!, 1200);
  assert.equal(q1!.tally.acked, 1200);
  assert.equal(q1!.tally.received, 1000, 'stock max_queued_messages 1000');
  assert.equal(q1!.tally.ackedButLost, 200);
  assert.ok(!q1!.verdict.kept);
  assert.ok(q1!.brokerSaid.some((l) => /dropped/.test(l)), 'mosquitto says so in its log');
});
