// Errors and outcomes from below the command line, and the exit codes the command line gives them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChildFailed } from '../../src/broker/children';
import { benchOutcome } from '../../src/bench/levels';
import { loadOutcome } from '../../src/bench/load';
import { errorLine, exitCodeOf, EXIT } from '../../src/cli/errors';
import { chaosVerdict, type ChaosReport, type QosRun } from '../../src/chaos/chaos';
import { InputError, MqttError } from '../../src/mqtt/errors';

test('a child of ours passes its exit code on; an outside tool or a crash is a protocol failure', () => {
  assert.equal(exitCodeOf(new ChildFailed('the load publisher: no CONNACK', EXIT.timeout)), EXIT.timeout);
  assert.equal(exitCodeOf(new ChildFailed('the load publisher: killed', null)), EXIT.protocol);
  assert.equal(exitCodeOf(new ChildFailed('mqtt pub exited with 1', 77)), EXIT.protocol);
  assert.equal(errorLine(new ChildFailed('the load publisher: it exited with code 9', 9), 'load'), 'Error: the load publisher: it exited with code 9');
});

test("a feature's own input (a tool not installed) exits as a bad option, without the --help pointer", () => {
  const error = new InputError("mosquitto_sub is not installed (run 'bash scripts/install-mosquitto.sh')");
  assert.equal(exitCodeOf(error), EXIT.usage);
  assert.equal(errorLine(error, 'compare'), "Error: mosquitto_sub is not installed (run 'bash scripts/install-mosquitto.sh')");
  assert.equal(exitCodeOf(new MqttError('timeout', 'no SUBACK from the broker at x within 0.4 s')), EXIT.timeout);
});

test('chaos verdicts rank a malformed packet over a stall over a broken promise', () => {
  const run = (over: Partial<QosRun>) => ({ malformed: 0, connackNotFirst: { publisher: 0, subscriber: 0 }, stalled: false, verdict: { kept: true, text: '' }, ...over }) as QosRun;
  const report = (...runs: QosRun[]): ChaosReport => ({ broker: 'aedes', runs });
  assert.equal(chaosVerdict(report(run({}), run({}))), 'kept');
  assert.equal(chaosVerdict(report(run({ verdict: { kept: false, text: 'lost 1' } }))), 'broken');
  assert.equal(chaosVerdict(report(run({ verdict: { kept: false, text: 'lost 1' } }), run({ stalled: true }))), 'stalled');
  assert.equal(chaosVerdict(report(run({ stalled: true }), run({ malformed: 1 }))), 'malformed');
  assert.equal(chaosVerdict(report(run({ stalled: true }), run({ connackNotFirst: { publisher: 0, subscriber: 1 } }))), 'violation');
});

test('bench and load outcomes', () => {
  assert.equal(benchOutcome([{ end: 'complete' }, { end: 'complete' }]), 'complete');
  assert.equal(benchOutcome([{ end: 'complete' }, { end: 'idle' }]), 'idle');
  assert.equal(benchOutcome([{ end: 'idle' }, { end: 'subscriber-closed' }]), 'closed');
  assert.equal(loadOutcome({ lost: 0, sent: 10, acked: 10 }), 'acked');
  assert.equal(loadOutcome({ lost: 0, sent: 10, acked: 9 }), 'unacked');
});
