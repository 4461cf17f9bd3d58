// scenario, chaos, bench and load against a broker that misbehaves
// (test/support/hostile-broker.ts), in-process through each command's main()
// with injected streams and short bounds: every case ends within its bound,
// with one `Error:` line naming what the broker did not do, or a report that
// says what it did, and the documented exit code.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { performance } from 'node:perf_hooks';
import { EXIT, type ExitCode } from '../../src/cli/errors';
import type { Io } from '../../src/cli/io';
import { settle } from '../../src/cli/main';
import { COMMANDS } from '../../src/cli/options/parse';
import { main as chaos } from '../../src/bin/chaos';
import { main as scenario } from '../../src/bin/scenario';
import { main as bench } from '../../src/bin/bench';
import { main as load } from '../../src/bin/load';
import { freePort } from '../../src/broker/mosquitto';
import { hostileBroker, HOSTILE, type HostileOptions } from '../support/hostile-broker';
import { runCli } from '../support/cli';

/** Short bounds: an answer within 400 ms, a chaos publisher stalled after 800 ms. */
const ANSWER_MS = 400;
const LIMITS = { answerMs: ANSWER_MS, stallMs: 800 };

interface Outcome {
  code: number;
  out: string;
  err: string;
  ms: number;
}

function sink(): { stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

type Command = 'chaos' | 'scenario' | 'bench' | 'load';

async function run(command: Command, argv: string[]): Promise<Outcome> {
  const out = sink();
  const err = sink();
  const io: Io = { out: out.stream, err: err.stream, env: { NO_COLOR: '1' } };
  const mains = {
    chaos: (a: string[]) => chaos(a, io, LIMITS),
    scenario: (a: string[]) => scenario(a, io, LIMITS),
    bench: (a: string[]) => bench(a, io, LIMITS),
    load: (a: string[]) => load(a, io, LIMITS),
  };
  const started = performance.now();
  let stderr = '';
  const code = await settle(COMMANDS[command], mains[command], argv, (line) => (stderr += line));
  return { code, out: out.text(), err: err.text() + stderr, ms: performance.now() - started };
}

async function against(t: TestContext, hostile: HostileOptions, command: Command, args: string[]): Promise<Outcome> {
  const broker = await hostileBroker(t, hostile);
  const argv = command === 'scenario' ? ['offline', '--broker', broker.url, ...args] : ['--broker', broker.url, ...args];
  return run(command, argv);
}

function oneError(outcome: Outcome, code: ExitCode, words: RegExp): void {
  const lines = outcome.err.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `exactly one stderr line, got:\n${outcome.err}\nstdout:\n${outcome.out}`);
  assert.match(lines[0]!, /^Error: /);
  assert.match(lines[0]!, words);
  assert.equal(outcome.code, code, lines[0]);
}

function within(outcome: Outcome, ms: number): void {
  assert.ok(outcome.ms < ms, `ended after ${outcome.ms.toFixed(0)} ms, bound ${ms} ms`);
}

const CHAOS = ['--count', '60', '--rate', '300', '--cut', '5000-6000'];
const BENCH = ['--count', '50', '--idle', '0.5'];
const LOAD = ['--seconds', '1', '--rate', '200'];

// --- scenario -------------------------------------------------------------

test('scenario, no CONNACK: exit 4 naming CONNACK', async (t) => {
  const o = await against(t, HOSTILE.neverConnack, 'scenario', []);
  oneError(o, EXIT.timeout, /no CONNACK from the broker at mqtt:\/\/127\.0\.0\.1:\d+ within 0\.4 s/);
  within(o, 3000);
});

test('scenario, no SUBACK: exit 4 naming SUBACK and the topic', async (t) => {
  const o = await against(t, HOSTILE.neverSuback, 'scenario', []);
  oneError(o, EXIT.timeout, /no SUBACK from the broker at \S+ for the subscription to 'lab\/offline' within 0\.4 s/);
  within(o, 3000);
});

test('scenario, no PUBACK: exit 4 naming PUBACK and the message', async (t) => {
  const o = await against(t, HOSTILE.neverAck, 'scenario', []);
  oneError(o, EXIT.timeout, /no PUBACK from the broker at \S+ for the QoS 1 message 'QoS 1 message' within 0\.4 s/);
  // What was printed is what crossed: the tap in front of the broker saw the PUBLISH go in, and nothing came back.
  assert.match(o.out, /publisher +\| send: publish/);
  within(o, 4000);
});

test('scenario, PUBREC but never PUBCOMP: exit 4 naming PUBCOMP', async (t) => {
  const o = await against(t, HOSTILE.neverPubcomp, 'scenario', []);
  oneError(o, EXIT.timeout, /no PUBCOMP from the broker at \S+ for the QoS 2 message 'QoS 2 message'/);
  assert.match(o.out, /publisher +\| receive: pubrec/);
  within(o, 4000);
});

test('scenario, the broker closes right after CONNACK: exit 5, it closed the connection', async (t) => {
  const o = await against(t, HOSTILE.closeAfterConnack, 'scenario', []);
  oneError(o, EXIT.protocol, /closed the connection/);
  within(o, 3000);
});

test('scenario, a malformed packet after CONNACK: exit 6, a violation named as such', async (t) => {
  const o = await against(t, HOSTILE.malformedAfterConnack, 'scenario', []);
  oneError(o, EXIT.violation, /the broker at mqtt:\/\/127\.0\.0\.1:\d+ (sent a malformed packet|broke an MQTT rule: it sent bytes that are not a valid MQTT packet)/);
  within(o, 3000);
});

test('scenario, nothing listening at --broker: exit 2, the broker named', async () => {
  const port = await freePort();
  const o = await run('scenario', ['offline', '--broker', `mqtt://127.0.0.1:${port}`]);
  oneError(o, EXIT.connect, new RegExp(`cannot reach the broker at mqtt://127\\.0\\.0\\.1:${port}: connection refused`));
});

// --- chaos ----------------------------------------------------------------

test('chaos, no CONNACK: exit 4 naming CONNACK and the broker (not the proxy)', async (t) => {
  const broker = await hostileBroker(t, HOSTILE.neverConnack);
  const o = await run('chaos', ['--broker', broker.url, ...CHAOS, '--qos', '1']);
  oneError(o, EXIT.timeout, new RegExp(`no CONNACK from the broker at ${broker.url.replace(/\./g, '\\.')} within 0\\.4 s`));
  within(o, 3000);
});

test('chaos, no SUBACK: exit 4 naming SUBACK', async (t) => {
  const o = await against(t, HOSTILE.neverSuback, 'chaos', [...CHAOS, '--qos', '1']);
  oneError(o, EXIT.timeout, /no SUBACK from the broker at \S+ for the subscription to 'chaos\/q1'/);
  within(o, 3000);
});

test('chaos, closes after every CONNACK: exit 5, and says how often the broker closed the connection', async (t) => {
  const o = await against(t, HOSTILE.closeAfterConnack, 'chaos', [...CHAOS, '--qos', '1']);
  oneError(o, EXIT.protocol, /closed the connection before its SUBACK for 'chaos\/q1': the broker closed the connection \d+ time\(s\)/);
  within(o, 3000);
});

test('chaos, malformed packets: exit 6, the malformed packets counted', async (t) => {
  const o = await against(t, HOSTILE.malformedAfterConnack, 'chaos', [...CHAOS, '--qos', '1']);
  oneError(o, EXIT.violation, /the broker at \S+ sent 1 malformed packet\(s\); the proxy cut each of those connections/);
  within(o, 3000);
});

test('chaos, never a PUBACK: the run stalls within its bound, the report says so, exit 4', async (t) => {
  const o = await against(t, HOSTILE.neverAck, 'chaos', [...CHAOS, '--qos', '1']);
  assert.equal(o.code, EXIT.timeout, o.err);
  assert.equal(o.err, '');
  // The window (20) went out, then nothing more: the tally counts what was published, not what was planned.
  assert.match(o.out, /QoS 1: sent 20, acked 0, received 0, lost 20/);
  assert.match(o.out, /STALLED: the publisher got no acknowledgement for 0\.8 s; 20 publish\(es\) never acknowledged, so the broker promised nothing for them$/m);
  within(o, 6000);
});

test('chaos, PUBREC but never PUBCOMP at QoS 2: stalls, reported, exit 4', async (t) => {
  const o = await against(t, HOSTILE.neverPubcomp, 'chaos', [...CHAOS, '--qos', '2']);
  assert.equal(o.code, EXIT.timeout, o.err);
  assert.match(o.out, /QoS 2: sent 20, acked 0, received 20, lost 0/);
  assert.match(o.out, /STALLED/);
  within(o, 6000);
});

test('chaos, no PINGRESP: a short run does not need one and keeps every promise, exit 0', async (t) => {
  const o = await against(t, HOSTILE.noPingresp, 'chaos', [...CHAOS, '--qos', '1,2']);
  assert.equal(o.code, EXIT.ok, o.err + o.out);
  assert.match(o.out, /QoS 1: sent 60, acked 60, received 60, lost 0/);
  assert.match(o.out, /QoS 2: sent 60, acked 60, received 60, lost 0/);
  within(o, 8000);
});

test('chaos, acknowledgements with ids never used: MQTT.js completes nothing, the run stalls, exit 4', async (t) => {
  const o = await against(t, HOSTILE.ackUnknownId, 'chaos', [...CHAOS, '--qos', '1']);
  assert.equal(o.code, EXIT.timeout, o.err);
  assert.match(o.out, /QoS 1: sent 20, acked 0, received 0, lost 20/);
  within(o, 6000);
});

test('scenario, a packet header announcing 268,435,455 bytes: bounded, exit 4', async (t) => {
  const o = await against(t, HOSTILE.oversizedAfterConnack, 'scenario', []);
  oneError(o, EXIT.timeout, /no SUBACK from the broker at \S+ for the subscription to 'lab\/offline'/);
  within(o, 3000);
});

test('chaos --broker with --engine is a usage error', async () => {
  const o = await run('chaos', ['--broker', 'mqtt://127.0.0.1:1', '--engine', 'aedes']);
  oneError(o, EXIT.usage, /give --broker or --engine, not both/);
});

test('chaos, scenario and load --broker mqtts://: a usage error (a plain TCP proxy, no TLS options), before dialling', async () => {
  for (const [command, args] of [['chaos', []], ['scenario', ['offline']], ['load', []]] as const) {
    const o = await run(command, [...args, '--broker', 'mqtts://127.0.0.1:8883']);
    oneError(o, EXIT.usage, /--broker 'mqtts:\/\/127\.0\.0\.1:8883': this command speaks plain MQTT over TCP only \(mqtt:\/\/\)/);
  }
});

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
  oneError(o, EXIT.timeout, /no CONNACK from the broker at \S+ within 0\.4 s/);
  within(o, 3000);
});

test('bench, no SUBACK: exit 4 naming SUBACK', async (t) => {
  const o = await against(t, HOSTILE.neverSuback, 'bench', BENCH);
  oneError(o, EXIT.timeout, /no SUBACK from the broker at \S+ for the subscription to 'mqtt-qos-lab\/bench'/);
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
  oneError(o, EXIT.timeout, /no CONNACK from the broker at \S+ within 0\.4 s/);
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
