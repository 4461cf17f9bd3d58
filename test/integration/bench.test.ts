// The bench against real brokers: the accounting must add up when nothing is
// lost, and must show the loss when a broker drops messages. Speed is not asserted.
import { run } from '../support/commands';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBench, runSweepBench } from '../../src/bench/levels';
import { measureLevel } from '../../src/bench/run';
import { runCompare } from '../../src/bench/compare';
import { AXES } from '../../src/bench/sweep';
import { spawnSync } from 'node:child_process';
import { Socket } from 'node:net';
import { testBroker } from '../support/broker';
import type { QosResult } from '../../src/bench/result';
import { parseBench } from '../../src/cli/options';
import { runCli } from '../support/cli';
import { needsMosquitto, testMosquitto } from '../support/mosquitto';

function options(argv: string[]) {
  const parsed = parseBench(argv);
  assert.equal(parsed.kind, 'run');
  return parsed.options;
}

test('bench --json: 500 messages per QoS through the embedded broker, none lost or duplicated', async () => {
  const run = await runCli('bench', ['--count', '500', '--json']).done;
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  const report = JSON.parse(run.stdout) as { results: QosResult[] };
  assert.deepEqual(report.results.map((r) => r.qos), [0, 1, 2]);
  for (const r of report.results) {
    const a = r.accounting;
    assert.equal(r.end, 'complete', `QoS ${r.qos}`);
    assert.deepEqual([r.published, r.acked, a.received, a.unique, a.lost, a.duplicated, a.foreign], [500, 500, 500, 500, 0, 0, 0], `QoS ${r.qos}`);
    assert.equal(r.receiveLatency?.count, 500);
    assert.ok(r.msgPerSec > 0);
  }
});

test('bench reports the loss when mosquitto drops messages for a stalled subscriber', needsMosquitto, async (t) => {
  // mosquitto keeps 20 unacknowledged messages in flight to a subscriber and
  // queues 10 more; a subscriber that stops reading gets the rest dropped.
  const broker = await testMosquitto(t, { config: ['max_queued_messages 10'] });
  const { results } = await runBench(options(['--broker', broker.url, '--qos', '1', '--count', '300', '--stall-after', '10', '--idle', '1']));
  const r = results[0]!;
  const a = r.accounting;
  assert.equal(r.end, 'idle');
  assert.equal(r.acked, 300, 'mosquitto acknowledged every publish');
  assert.ok(a.lost > 0, `expected loss, got ${JSON.stringify(a)}`);
  assert.ok(a.unique >= 10, `the subscriber read 10 before it stalled, got ${a.unique}`);
  assert.equal(a.ackedButLost, a.lost);
  assert.equal(a.duplicated, 0);
});

test('bench refuses a public test broker and a payload too small for its sequence numbers', async () => {
  assert.throws(() => parseBench(['--broker', 'public:mosquitto']), /not a public test broker/);
  const run = await runCli('bench', ['--count', '1000', '--size', '2']).done;
  assert.equal(run.code, 1);
  assert.equal(run.stderr, "Error: --size must be at least 3 to hold sequence numbers up to 999, got '2' (see 'node --import tsx src/bin/bench.ts --help')\n");
});

test('bench --trace writes every packet of both clients as JSON lines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-trace-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'trace.jsonl');
  const { results } = await runBench(options(['--qos', '1', '--count', '20', '--trace', file]));
  assert.equal(results[0]!.accounting.unique, 20);
  const records = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seenBy: string; direction: string; type: string });
  const count = (seenBy: string, direction: string, type: string) => records.filter((r) => r.seenBy === seenBy && r.direction === direction && r.type === type).length;
  // Publisher: 20 PUBLISH out, 20 PUBACK in; subscriber: 20 PUBLISH in, 20 PUBACK out.
  assert.deepEqual(
    [count('publisher', 'send', 'publish'), count('publisher', 'receive', 'puback'), count('subscriber', 'receive', 'publish'), count('subscriber', 'send', 'puback')],
    [20, 20, 20, 20],
  );
});

test('load against its own aedes, 1 s at 200 msg/s: every message arrives and the run ends by itself, exit 0', async () => {
  const o = await run('load', ['--engine', 'aedes', '--seconds', '1', '--rate', '200']);
  assert.equal(o.code, 0, o.err);
  assert.match(o.out, /^sent 200 in .*acknowledged to the publisher 200$/m);
  assert.match(o.out, /^received 200, .*lost 0, duplicates 0$/m);
});

test('fan-out: three subscribers of one publisher each get all 200 messages, counted per subscriber', async (t) => {
  const broker = await testBroker(t);
  const s = await measureLevel({ url: broker.url, qos: 1, count: 200, size: 32, window: 20, idleMs: 5000, topic: 'bench/fan-out', clientId: `fan-out-${process.pid}`, subscribers: 3 });
  assert.equal(s.end, 'complete');
  assert.deepEqual([s.accounting.expected, s.accounting.unique, s.accounting.lost, s.accounting.duplicated, s.receiveLatency.length, s.acked], [600, 600, 0, 0, 600, 200]);
});

test('bench --sweep, 40 deliveries a point: every axis and QoS level measured, nothing lost, a table per axis and the chart', async () => {
  const { heading, points } = await runSweepBench(options(['--sweep', '--qos', '0,2', '--count', '40']));
  const values = Object.values(AXES).reduce((n, a) => n + a.values.length, 0);
  assert.equal(points.length, values * 2);
  for (const p of points) {
    assert.equal(p.complete, true, `${p.axis} ${p.value} QoS ${p.qos}`);
    assert.equal(p.accounting.lost, 0);
    assert.ok(p.msgPerSec > 0 && p.rssMb > 0);
  }
  // 100 subscribers of one publisher: at least 20 messages each (not 40 / 100), each delivered 100 times.
  const fanOut = points.find((p) => p.axis === 'fan-out' && p.value === 100)!;
  assert.deepEqual([fanOut.messages, fanOut.accounting.unique], [20, 2000]);
  assert.match(heading, /^bench --sweep: QoS 0,2, .*about 40 deliveries per point/);
});

test('bench --sweep as a command prints the four tables and the chart, exit 0', async () => {
  const run = await runCli('bench', ['--sweep', '--qos', '1', '--count', '40']).done;
  assert.equal(run.code, 0, run.stderr);
  for (const header of ['window', 'payload B', 'pairs', 'subscribers']) assert.match(run.stdout, new RegExp(`^${header} +msgs +QoS 1 msg/s +p50 ms +p99 ms +RSS MB \\(\\+during\\) +lost$`, 'm'));
  assert.match(run.stdout, /^msg\/s \(bars scaled to /m);
  assert.match(run.stdout, /^ {2}1 → 100 +QoS 1 █+ +[\d.]+K?$/m);
});

const HAVE_C_CLIENTS = !spawnSync('mosquitto_pub', ['--help']).error;
const needsCClients = { skip: !HAVE_C_CLIENTS && process.env.REQUIRE_MOSQUITTO !== '1' ? 'mosquitto_pub/mosquitto_sub are not installed (bash scripts/install-mosquitto.sh)' : false };

test('bench:compare, 300 messages, one round: ours, bare MQTT.js and the C client each give a clean run, ratios over them', needsCClients, async () => {
  const lines: string[] = [];
  const got = await runCompare({ levels: [1], count: 300, size: 32, window: 20, rounds: 1 }, (l) => lines.push(l));
  const level = got.get(1)!;
  for (const who of ['ours', 'bare', 'c'] as const) {
    // 300 messages are fewer than mosquitto's max_queued_messages (1000): nothing can be dropped.
    assert.deepEqual([level[who].clean.length, level[who].dropped.length], [1, 0], who);
    for (const m of level[who].clean) assert.equal(m.accounting.unique, 300, who);
  }
  assert.ok(level.ours.clean[0]!.cpuUsPerMsg! > 0);
  const text = lines.join('\n');
  assert.match(text, /^ {2}round 1 QoS 1: ours [\d.]+K? msg\/s, bare MQTT.js [\d.]+K? msg\/s, C client [\d.]+K? msg\/s$/m);
  assert.match(text, /^ +ours +bare MQTT.js +C client +ours\/C +ours\/bare +CPU ours +CPU bare +clean runs$/m);
});

test('bench --engine mosquitto starts its own mosquitto for the run and names it', needsMosquitto, async () => {
  const { info, results } = await runBench(options(['--engine', 'mosquitto', '--qos', '2', '--count', '100']));
  assert.match(info.broker, /^mqtt:\/\/127\.0\.0\.1:\d+, started for the run: mosquitto [\d.]+$/);
  assert.equal(results[0]!.accounting.unique, 100);
});

test('the bench acknowledges the packets of one read in one write: 300 QoS 2 messages, far fewer socket writes than the 900 acknowledgements and PUBRELs', async (t) => {
  const broker = await testBroker(t);
  // Counts the writes handed to the OS by the clients' sockets (the broker's run in this process too: left out by port).
  const proto = Socket.prototype as unknown as { _writeGeneric: (...args: unknown[]) => unknown };
  const original = proto._writeGeneric;
  let writes = 0;
  proto._writeGeneric = function (this: Socket, ...args: unknown[]) {
    if (this.remotePort === broker.port) writes++;
    return original.apply(this, args);
  };
  t.after(() => (proto._writeGeneric = original));
  const s = await measureLevel({ url: broker.url, qos: 2, count: 300, size: 32, window: 20, idleMs: 5000, topic: 'bench/cork', clientId: `cork-${process.pid}` });
  assert.equal(s.accounting.unique, 300);
  // Uncorked, every PUBREC and PUBCOMP of the subscriber and every PUBREL of the publisher was a write of its own: 900 and more.
  assert.ok(writes < 450, `${writes} socket writes for 300 QoS 2 messages`);
});

test('bench --trace -: stdout is the trace alone (JSON lines, every packet), the report goes to stderr', async () => {
  const o = await run('bench', ['-q', '1', '-C', '20', '--trace', '-']);
  assert.equal(o.code, 0, o.err);
  const records = o.out.trimEnd().split('\n').map((line) => JSON.parse(line) as { seenBy: string; direction: string; type: string });
  const count = (seenBy: string, direction: string, type: string) => records.filter((r) => r.seenBy === seenBy && r.direction === direction && r.type === type).length;
  assert.deepEqual([count('publisher', 'send', 'publish'), count('subscriber', 'receive', 'publish')], [20, 20]);
  assert.match(o.err, /^bench: 20 messages of 32 B per QoS/m);
  assert.match(o.err, /^QoS 1 .* all delivered$/m);
});

test('bench --json: stdout is the one JSON object, nothing else (in-process, --trace to a file beside it)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-json-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const o = await run('bench', ['-q', '0', '-C', '20', '--json', '--trace', join(dir, 'trace.jsonl')]);
  assert.equal(o.code, 0, o.err);
  assert.deepEqual((JSON.parse(o.out) as { results: QosResult[] }).results.map((r) => r.accounting.unique), [20]);
  assert.equal(o.err, '');
});

test('bench --window 0 at QoS 0: no MaxListenersExceededWarning (MQTT.js adds a once(drain) per buffered publish; the publisher waits for drain once itself)', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => void warnings.push(w);
  process.on('warning', onWarning);
  try {
    // 3000 × 32 B fill the socket's buffer (16 KB) many times over: well past 1000 publishes waiting for drain.
    const o = await run('bench', ['-q', '0', '--window', '0', '-C', '3000', '--json']);
    assert.equal(o.code, 0, o.err);
    assert.equal((JSON.parse(o.out) as { results: QosResult[] }).results[0]!.accounting.unique, 3000);
    // Node emits the warning on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings.map((w) => `${w.name}: ${w.message}`), []);
});

test('bench -V 5 --trace: a sent PUBLISH is sized as MQTT 5 encodes it, the size the receiving side read from the wire', needsMosquitto, async (t) => {
  const broker = await testMosquitto(t);
  const o = await run('bench', ['--broker', broker.url, '-V', '5', '-q', '1', '-C', '5', '--trace', '-']);
  assert.equal(o.code, 0, o.err);
  const publishes = o.out.trimEnd().split('\n').map((line) => JSON.parse(line) as { seenBy: string; direction: string; type: string; bytes: number }).filter((r) => r.type === 'publish');
  const sizes = (seenBy: string, direction: string) => [...new Set(publishes.filter((r) => r.seenBy === seenBy && r.direction === direction).map((r) => r.bytes))];
  // 2 fixed header + 2 + 18 topic + 2 packet id + 1 properties length (MQTT 5) + 32 payload.
  assert.deepEqual([sizes('publisher', 'send'), sizes('subscriber', 'receive')], [[57], [57]]);
});
