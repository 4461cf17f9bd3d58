// bench and load against a broker that misbehaves, as test/integration/hostile-commands.test.ts
// runs scenario and chaos (split in two files so the two halves run side by side).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT } from '../../src/cli/errors';
import { hostileBroker, HOSTILE } from '../support/hostile-broker';
import { runCli } from '../support/cli';
import { against, BENCH, LOAD, oneError, run, within } from '../support/commands';

// --- bench ----------------------------------------------------------------

test('bench, never a PUBACK: the report says acked 0, the process ends (it used to hang after the report), exit 4', async (t) => {
  const o = await against(t, HOSTILE.neverAck, 'bench', [...BENCH, '--qos', '1']);
  assert.equal(o.code, EXIT.timeout, o.err);
  assert.match(o.out, /QoS 1 +0 +20 +0 +0 +50 .* idle timeout/);
  within(o, 5000);
});

test('bench, PUBREC but never PUBCOMP: the QoS 2 run ends on --idle, exit 4', async (t) => {
  const o = await against(t, HOSTILE.neverPubcomp, 'bench', [...BENCH, '--qos', '2']);
  assert.equal(o.code, EXIT.timeout, o.err);
  assert.match(o.out, /idle timeout/);
  within(o, 5000);
});

test('bench, no CONNACK: exit 4 naming CONNACK', async (t) => {
  const o = await against(t, HOSTILE.neverConnack, 'bench', BENCH);
  oneError(o, EXIT.timeout, /the broker at \S+ accepted the connection but sent no CONNACK within 0\.4 s/);
  within(o, 3000);
});

test('bench, no SUBACK: exit 4 naming SUBACK', async (t) => {
  const o = await against(t, HOSTILE.neverSuback, 'bench', BENCH);
  oneError(o, EXIT.timeout, /no SUBACK for our SUBSCRIBE to 'mqtt-qos-lab\/bench' within 0\.4 s/);
  within(o, 3000);
});

test('bench, closes after CONNACK: exit 5', async (t) => {
  const o = await against(t, HOSTILE.closeAfterConnack, 'bench', BENCH);
  oneError(o, EXIT.protocol, /closed the connection/);
  within(o, 3000);
});

test('bench, a malformed packet: exit 6', async (t) => {
  const o = await against(t, HOSTILE.malformedAfterConnack, 'bench', BENCH);
  oneError(o, EXIT.violation, /sent a malformed packet|not a valid MQTT packet/);
  within(o, 3000);
});

test('bench, no PINGRESP: a short bench completes, exit 0', async (t) => {
  const o = await against(t, HOSTILE.noPingresp, 'bench', [...BENCH, '--qos', '0,1,2']);
  assert.equal(o.code, EXIT.ok, o.err);
  assert.doesNotMatch(o.out, /idle timeout/);
  within(o, 5000);
});

test('bench, a packet header announcing 268,435,455 bytes: bounded, exit 4 naming SUBACK', async (t) => {
  const o = await against(t, HOSTILE.oversizedAfterConnack, 'bench', BENCH);
  oneError(o, EXIT.timeout, /no SUBACK/);
  within(o, 3000);
});

test('bench as a process, never a PUBACK: prints its report and exits 4 (it used to print the report and never exit)', async (t) => {
  const broker = await hostileBroker(t, HOSTILE.neverAck);
  const run = runCli('bench', ['--broker', broker.url, ...BENCH, '--qos', '1'], { t });
  const started = performance.now();
  const done = await run.done;
  assert.equal(done.code, EXIT.timeout, done.stderr);
  assert.match(done.stdout, /idle timeout/);
  assert.ok(performance.now() - started < 8000, `exited after ${(performance.now() - started).toFixed(0)} ms`);
});

// --- load -----------------------------------------------------------------

test('load, no CONNACK: exit 4 naming CONNACK', async (t) => {
  const o = await against(t, HOSTILE.neverConnack, 'load', LOAD);
  oneError(o, EXIT.timeout, /the broker at \S+ accepted the connection but sent no CONNACK within 0\.4 s/);
  within(o, 3000);
});

test('load, no SUBACK: exit 4 naming SUBACK', async (t) => {
  const o = await against(t, HOSTILE.neverSuback, 'load', LOAD);
  oneError(o, EXIT.timeout, /no SUBACK/);
  within(o, 3000);
});

test('load, never a PUBACK: the publisher gives up within its bound, the report says so, exit 4', async (t) => {
  const o = await against(t, HOSTILE.neverAck, 'load', LOAD);
  assert.equal(o.code, EXIT.timeout, o.err);
  assert.equal(o.err, '');
  assert.match(o.out, /acknowledged to the publisher 0/);
  assert.match(o.out, /the broker acknowledged 0 of \d+ QoS 1 publishes/);
  within(o, 12_000);
});

test('load, closes after CONNACK: exit 5', async (t) => {
  const o = await against(t, HOSTILE.closeAfterConnack, 'load', LOAD);
  oneError(o, EXIT.protocol, /closed the connection/);
  within(o, 3000);
});

// --- files the bench writes -------------------------------------------------

test('bench --trace into a folder that does not exist: one line naming --trace before any broker starts, exit 1', async () => {
  const o = await run('bench', ['--count', '10', '--trace', '/nonexistent/trace.jsonl']);
  oneError(o, EXIT.usage, /--trace '\/nonexistent\/trace\.jsonl': cannot write this file \((ENOENT|no such folder)\)/);
  assert.equal(o.out, '');
});

test('bench --trace /dev/full: one line naming --trace and ENOSPC (it was a raw ENOSPC), exit 1', async () => {
  const o = await run('bench', ['--count', '10', '--qos', '1', '--trace', '/dev/full']);
  oneError(o, EXIT.usage, /--trace '\/dev\/full': cannot write this file \((ENOSPC|no space left on the device)\)/);
});

test('load, a malformed packet after CONNACK: exit 6', async (t) => {
  const o = await against(t, HOSTILE.malformedAfterConnack, 'load', LOAD);
  oneError(o, EXIT.violation, /(sent a malformed packet|not a valid MQTT packet) \(Invalid variable byte integer\)/);
  within(o, 3000);
});
