// The lab against brokers that misbehave on purpose (test/support/hostile-broker.ts),
// in-process with a short --ack-timeout: it always ends within a bound, with a
// result per pair and one `Error:` line and a documented exit code, never a hang;
// a broken MQTT rule is named in the pair's note, the matrix and the error line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT, type ExitCode } from '../../src/cli/errors';
import type { Packet } from 'mqtt-packet';
import { HOSTILE, hostileBroker, type HostileOptions } from '../support/hostile-broker';
import { runCli } from '../support/cli';
import { assertOneError, run as runInProcess, type Outcome } from '../support/in-process';

/** --ack-timeout for these runs: each silent step costs this much. */
const ACK_TIMEOUT = '0.3';
/** Every run must end well within this (ms): one or two pairs, each bounded by the ack timeout a few times over. */
const BOUND_MS = 5000;

async function labAgainst(options: HostileOptions, args: string[]): Promise<Outcome> {
  const broker = await hostileBroker(null, options);
  try {
    return await runInProcess('lab', ['--broker', broker.url, '--ack-timeout', ACK_TIMEOUT, ...args]);
  } finally {
    await broker.close();
  }
}

/** One `Error:` line, no stack, the code and the words; and the run ended in time. */
function assertEnds(run: Outcome, code: ExitCode, words: RegExp): void {
  assertOneError(run, code, words, BOUND_MS);
}

/** The matrix row of one publish QoS, e.g. `pub 1   - [1]! 1+0  -`. */
function row(stdout: string, pub: number): string {
  return stdout.match(new RegExp(`^pub ${pub} {3}.*$`, 'm'))?.[0] ?? '';
}

test('never a CONNACK: one error line naming it, exit 4, no pair drawn', async () => {
  const run = await labAgainst(HOSTILE.neverConnack, ['--pub', '1', '--sub', '1']);
  assertEnds(run, EXIT.timeout, /accepted the connection but sent no CONNACK within 0\.3 s/);
  assert.doesNotMatch(run.out, /^== /m);
});

test('never a PUBACK (QoS 1): the pair says which ack never came and what QoS 1 does about it; exit 4', async () => {
  const run = await labAgainst(HOSTILE.neverAck, ['--pub', '1', '--sub', '1']);
  assertEnds(run, EXIT.timeout, /left 1 of 1 pair unanswered \(pub 1 \/ sub 1\): no PUBACK within --ack-timeout/);
  assert.match(run.out, /^! no PUBACK for message 1 of 1 \(id=\d+\) within 0\.3 s: at QoS 1 the message may or may not have arrived; a client that reconnects with the same session resends it with DUP=1/m);
  assert.equal(row(run.out, 1), 'pub 1   - [1]! 1+0  -');
  // The lab gave up on the flow and still said goodbye: the publisher's DISCONNECT is on its leg.
  assert.match(run.out, /^ *[\d.]+ \|-+ DISCONNECT -+>\|/m);
});

test('never a PUBREC (QoS 2): no PUBREC named, exit 4', async () => {
  const run = await labAgainst(HOSTILE.neverAck, ['--pub', '2', '--sub', '2']);
  assertEnds(run, EXIT.timeout, /no PUBREC within --ack-timeout/);
  assert.match(run.out, /^! no PUBREC for message 1 of 1 \(id=\d+\) within 0\.3 s: at QoS 2 the message may or may not have arrived/m);
});

test('never a PUBCOMP: the message was delivered, the publisher\'s flow never completed; exit 4', async () => {
  const run = await labAgainst(HOSTILE.neverPubcomp, ['--pub', '2', '--sub', '2']);
  assertEnds(run, EXIT.timeout, /no PUBCOMP within --ack-timeout/);
  assert.match(run.out, /^! no PUBCOMP for message 1 of 1 \(id=\d+\) within 0\.3 s: PUBREC came, so the broker has the message/m);
  assert.match(row(run.out, 2), /^pub 2 {3}2 \[2\] {2}3\+4 {2}-$/);
});

test('never a SUBACK: every pair stops at its subscription, each within the bound; exit 4', async () => {
  const run = await labAgainst(HOSTILE.neverSuback, ['--pub', '0,1', '--sub', '1']);
  assertEnds(run, EXIT.timeout, /left 2 of 2 pairs unanswered \(pub 0 \/ sub 1, pub 1 \/ sub 1\): no SUBACK within --ack-timeout/);
  assert.equal(run.out.match(/^! no SUBACK for our SUBSCRIBE to '[^']+' within 0\.3 s: .*; without a subscription there is nothing to deliver, so the pair stops here$/gm)?.length, 2);
  assert.match(run.out, /^! pub 1 \/ sub 1: nothing delivered, MIN\(1, 1\) = 1 expected; no SUBACK came; no SUBACK for our SUBSCRIBE/m);
});

test('the broker closes right after CONNACK: one error line, exit 5', async () => {
  const run = await labAgainst(HOSTILE.closeAfterConnack, ['--pub', '1', '--sub', '1']);
  assertEnds(run, EXIT.protocol, /the broker at mqtt:\/\/127\.0\.0\.1:\d+ closed the connection/);
});

test('PUBACK to a QoS 2 PUBLISH: the pair names the rule, the ack column shows the wrong ack came (not "-"), exit 6', async () => {
  const run = await labAgainst(HOSTILE.wrongAck, ['--pub', '2', '--sub', '2']);
  assertEnds(run, EXIT.violation, /broke an MQTT rule in 1 of 1 pair \(pub 2 \/ sub 2\): it answered our QoS 2 PUBLISH id=\d+ with PUBACK where PUBREC was due .*\[MQTT-4\.3\.3-2\]$/);
  assert.match(run.out, /^! rule broken: the broker answered our QoS 2 PUBLISH id=\d+ with PUBACK where PUBREC was due \(QoS 2 is PUBLISH, PUBREC, PUBREL, PUBCOMP\) \[MQTT-4\.3\.3-2\]$/m);
  assert.match(row(run.out, 2), /^pub 2 {3}- \[2\]! 2\+0 {2}[\d.]+ms!$/);
  assert.match(run.out, /^ *[\d.]+ \|<-+ PUBACK id=\d+ -+\| +\| {2}! breaks \[MQTT-4\.3\.3-2\]$/m);
  assert.match(run.out, /^ {6}! after the ack wait: the broker answered with a packet the MQTT rules forbid there/m);
  assert.match(run.out, /^! pub 2 \/ sub 2: rule broken: the broker answered our QoS 2 PUBLISH id=\d+ with PUBACK where PUBREC was due .*\[MQTT-4\.3\.3-2\]$/m);
});

test('PUBCOMP to a QoS 1 PUBLISH: named, exit 6 (MQTT.js alone takes it as success)', async () => {
  const run = await labAgainst(HOSTILE.wrongAck, ['--pub', '1', '--sub', '1']);
  assertEnds(run, EXIT.violation, /answered our QoS 1 PUBLISH id=\d+ with PUBCOMP where PUBACK was due .*\[MQTT-4\.3\.2-2\]/);
  assert.match(row(run.out, 1), /^pub 1 {3}- \[1\]! 2\+0 {2}[\d.]+ms!$/);
});

test('PUBACK to a QoS 2 PUBLISH over MQTT 5: named too (the rule as MQTT 3.1.1 numbers it)', async () => {
  const run = await labAgainst(HOSTILE.wrongAck, ['--pub', '2', '--sub', '2', '--protocol', '5']);
  assertEnds(run, EXIT.violation, /answered our QoS 2 PUBLISH id=\d+ with PUBACK where PUBREC was due .*\[MQTT-4\.3\.3-2\]/);
});

test('an ack for an id the publisher never used: a broken rule (exit 6) outranks the timeout it causes', async () => {
  const run = await labAgainst(HOSTILE.ackUnknownId, ['--pub', '1', '--sub', '1']);
  assertEnds(run, EXIT.violation, /it sent PUBACK id=\d+, but we have no PUBLISH with that id in flight .*\[MQTT-2\.3\.1-6\]/);
  assert.match(run.out, /^! rule broken: the broker sent PUBACK id=\d+, but we have no PUBLISH with that id in flight/m);
  assert.match(row(run.out, 1), /^pub 1 {3}- \[1\]! 2\+0 {2}[\d.]+ms!$/);
});

test('a malformed packet after CONNACK: one error line naming the broken rule, exit 6', async () => {
  const run = await labAgainst(HOSTILE.malformedAfterConnack, ['--pub', '1', '--sub', '1']);
  assertEnds(run, EXIT.violation, /broker at mqtt:\/\/127\.0\.0\.1:\d+ broke an MQTT rule: it sent bytes that are not a valid MQTT packet \(.+\) \[MQTT-4\.8\.0-1\]/);
});

test('an oversized packet header after CONNACK (268 MB announced, never sent): the SUBACK never gets through; exit 4', async () => {
  const run = await labAgainst(HOSTILE.oversizedAfterConnack, ['--pub', '1', '--sub', '1']);
  assertEnds(run, EXIT.timeout, /no SUBACK within --ack-timeout/);
});

test('a broker that never forwards: the QoS 0 pair shows nothing delivered, bounded by the ack timeout; exit 0 (nothing unanswered)', async () => {
  const dropAll: HostileOptions = { on: { publish: (p: Packet) => p.cmd === 'publish' && p.qos === 0 } };
  const run = await labAgainst(dropAll, ['--pub', '0', '--sub', '1']);
  assert.equal(run.code, 0, run.err);
  assert.equal(run.err, '');
  assert.match(run.out, /nothing reached the subscriber within 300 ms of the publisher's last packet/);
  assert.ok(run.ms < BOUND_MS);
});

test('--fault puback, and the broker never answers the publisher\'s reconnect: the pair ends at the ack timeout; exit 4', async () => {
  const silentOnReconnect: HostileOptions = { on: { connect: (p: Packet, c) => p.cmd === 'connect' && p.clientId.endsWith('-pub') && c.index > 2 } };
  const run = await labAgainst(silentOnReconnect, ['--pub', '1', '--sub', '1', '--fault', 'puback']);
  assertEnds(run, EXIT.timeout, /no PUBACK within --ack-timeout/);
  assert.match(run.out, /connection cut by the proxy \(before PUBACK\)/);
  assert.match(row(run.out, 1), /^pub 1 {3}1 \[1\] ~/);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} while the lab waits on a broker that never acks (--ack-timeout 30): it ends within the stop bound, exit ${signal === 'SIGINT' ? 130 : 143}`, async (t) => {
    const broker = await hostileBroker(t, HOSTILE.neverAck);
    const run = runCli('lab', ['--broker', broker.url, '--ack-timeout', '30', '--pub', '1', '--sub', '1'], { t });
    await broker.waitFor('publish');
    const sent = performance.now();
    run.child.kill(signal);
    const result = await run.done;
    assert.ok(performance.now() - sent < BOUND_MS, `ended ${(performance.now() - sent).toFixed(0)} ms after ${signal}`);
    assert.equal(result.code, signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated, result.stderr);
    assert.match(result.stdout, /^interrupted: ending the pair in flight and stopping the broker/m);
    assert.doesNotMatch(result.stderr, /^ {4}at /m);
  });
}
