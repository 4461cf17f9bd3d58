// The broker report card against three brokers: the embedded aedes, stock
// mosquitto, and a broker that breaks the QoS promises on purpose. Each runs
// in-process through main() with short bounds and the --quick sizes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { PUBLIC_BROKERS } from '../../src/cli/options/broker-url';
import test from 'node:test';
import { main } from '../../src/bin/probe';
import { EXIT } from '../../src/cli/errors';
import { settle } from '../../src/cli/main';
import { COMMANDS } from '../../src/cli/options/parse';
import type { Answer } from '../../src/probe/answer';
import type { ProbeLimits } from '../../src/probe/probe';
import { sink } from '../support/commands';
import { misbehavingBroker } from '../support/misbehaving-broker';
import { freePort } from '../../src/broker/mosquitto';
import { startBroker } from '../../src/broker/embedded';
import { needsMosquitto, testMosquitto } from '../support/mosquitto';
import { runCli } from '../support/cli';
import { createConnection } from 'node:net';
import { witness } from '../support/witness';

const LIMITS: ProbeLimits = { answerMs: 2000, quietMs: 300, stallMs: 2000 };

interface Card {
  code: number;
  out: string;
  err: string;
  broker: string;
  broken: string[];
  records: number;
  byId: Record<string, Answer>;
}

async function probe(argv: string[]): Promise<Card> {
  const out = sink();
  const err = sink();
  let errors = '';
  const code = await settle(COMMANDS.probe, (a) => main(a, { out: out.stream, err: err.stream, env: { NO_COLOR: '1' } }, LIMITS), ['--json', ...argv], (line) => (errors += line));
  const report = JSON.parse(out.text()) as { broker: string; broken: string[]; records: number; questions: Answer[] };
  return { code, out: out.text(), err: err.text() + errors, broker: report.broker, broken: report.broken, records: report.records, byId: Object.fromEntries(report.questions.map((a) => [a.id, a])) };
}

/** Every verdict points at records that exist. */
function assertEvidence(card: Card): void {
  for (const a of Object.values(card.byId)) {
    if (a.verdict === 'not-applicable' || a.verdict === 'unmeasured') continue;
    assert.ok(a.evidence.length > 0, `${a.id} names its records`);
    for (const [from, to] of a.evidence) assert.ok(from >= 1 && to >= from && to <= card.records, `${a.id}: records ${from}-${to} of ${card.records}`);
  }
}

test('aedes: the card names what it does (3.1.1 only; the embedded broker resends with DUP=1), each verdict from records of the trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'probe-test-'));
  const trace = join(dir, 'trace.jsonl');
  const report = join(dir, 'card.md');
  const card = await probe(['--quick', '--trace', trace, '--markdown', report]);
  const v = (id: string) => card.byId[id]!;
  assert.match(card.broker, /^aedes \(embedded\) on mqtt:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(Object.keys(card.byId).length, 12);
  assert.equal(v('versions').verdict, 'conforms');
  assert.match(v('versions').fact, /3\.1 accepted, 3\.1\.1 accepted, 5 refused \(CONNACK 1\)/);
  assert.equal(v('granted').verdict, 'conforms');
  assert.equal(v('matrix').verdict, 'conforms');
  assert.match(v('matrix').fact, /pub 0: 0 0 0 \| pub 1: 0 1 1 \| pub 2: 0 1 2/);
  assert.equal(v('forward').figures.after, 'publish');
  assert.equal(v('pubrec').verdict, 'conforms');
  assert.equal(v('redelivery').verdict, 'conforms', v('redelivery').fact);
  assert.equal(v('offline').verdict, 'conforms');
  assert.equal(v('burst').verdict, 'conforms');
  assert.equal(v('retained').verdict, 'conforms');
  assert.equal(v('expiry').verdict, 'not-applicable');
  assert.deepEqual(card.broken, []);
  assert.equal(card.code, EXIT.ok, 'no broken rule exits 0');
  assertEvidence(card);
  // Record n is line n of the trace, and it is the packet the verdict names.
  const lines = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { record: number; type: string; dup?: boolean; direction: string });
  assert.equal(lines.length, card.records);
  lines.forEach((l, i) => assert.equal(l.record, i + 1));
  const [from] = v('versions').evidence[0]!;
  assert.equal(lines[from - 1]!.type, 'connack');
  const resent = v('redelivery').evidence.flatMap(([a, b]) => lines.slice(a - 1, b)).filter((l) => l.type === 'publish' && l.direction === 'send');
  assert.equal(resent.filter((l) => l.dup === true).length, 6, 'the 6 resends on the wire carry DUP=1');
  assert.match(readFileSync(report, 'utf8'), /^# Broker report card: aedes \(embedded\) on mqtt:\/\/127\.0\.0\.1:\d+\n[\s\S]*\| redelivery to a resumed subscriber \| conforms \|/);
});

test('mosquitto: every promise kept, MQTT 5 session expiry honoured', needsMosquitto, async (t) => {
  const broker = await testMosquitto(t);
  const card = await probe(['--quick', '--broker', broker.url]);
  const v = (id: string) => card.byId[id]!;
  for (const id of ['versions', 'granted', 'matrix', 'pubrec', 'redelivery', 'offline', 'burst', 'order', 'retained', 'expiry']) assert.equal(v(id).verdict, 'conforms', `${id}: ${v(id).fact}`);
  assert.match(v('versions').fact, /5 accepted/);
  assert.equal(v('forward').figures.after, 'pubrel');
  assert.deepEqual(v('expiry').figures, { presentWithin: true, presentAfter: false, brokerExpiry: null });
  assert.equal(card.code, card.broken.length > 0 ? EXIT.violation : EXIT.ok);
  assertEvidence(card);
});

test('mosquitto with max_queued_messages 10: the offline queue ends there and the publisher is not told, over MQTT 5 either', needsMosquitto, async (t) => {
  const broker = await testMosquitto(t, { config: ['max_queued_messages 10'] });
  const card = await probe(['--quick', '--broker', broker.url, '--only', 'offline,burst']);
  const offline = card.byId.offline!;
  assert.equal(offline.verdict, 'differs');
  assert.ok((offline.figures.acknowledgedThenDropped as number) > 0);
  // mosquitto speaks 5: the publishers did too, and every PUBACK said success, the dropped ones' as well.
  assert.match(offline.fact, /the publisher \(MQTT 5\) got 0x00 success ×206: not told/);
  assert.deepEqual(offline.figures.publisher, { protocol: '5', reasonCodes: { '0x00': 206 } });
  assert.equal(card.byId.burst!.verdict, 'differs');
  assert.deepEqual(card.byId.burst!.figures.publisher, { protocol: '5', reasonCodes: { '0x00': 300 } });
  assert.deepEqual(Object.keys(card.byId).sort(), ['burst', 'offline']);
});

test('a misbehaving broker: each broken promise named with its rule', async (t) => {
  const broker = await misbehavingBroker(t);
  const card = await probe(['--quick', '--broker', broker.url, '--only', 'versions,granted,pubrec,redelivery,offline']);
  const v = (id: string) => card.byId[id]!;
  assert.equal(v('granted').verdict, 'differs');
  assert.match(v('granted').fact, /asked 2 → granted 1/);
  assert.equal(v('pubrec').verdict, 'violates');
  assert.equal(v('pubrec').rule, 'MQTT-4.3.3-2');
  assert.match(v('pubrec').fact, /PUBACK/);
  assert.equal(v('redelivery').verdict, 'violates');
  assert.equal(v('redelivery').rule, 'MQTT-3.3.1-1');
  assert.equal(v('offline').verdict, 'violates');
  assert.equal(v('offline').rule, 'MQTT-3.1.2-5');
  // It speaks 5, so the offline question's publishers do too, and read what the PUBACKs said.
  assert.deepEqual(v('offline').figures.publisher, { protocol: '5', reasonCodes: { '0x10': 3 + 1 + 200 } }); // QoS 2's batch ends at its first (wrong) PUBACK
  assert.match(v('offline').fact, /the publisher \(MQTT 5\) got 0x10 no matching subscribers ×204/);
  assert.deepEqual(card.broken.sort(), ['offline', 'pubrec', 'redelivery']);
  assert.equal(card.code, EXIT.violation);
  assertEvidence(card);
});

// A public broker's host, from its preset: this test only parses, nothing dials it.
const PUBLIC_HOST = new URL(PUBLIC_BROKERS.mosquitto!).hostname;

test('bad input: one Error line, exit 1, nothing started', async () => {
  for (const argv of [['--config', 'max_qos 1'], ['--only', 'nope'], ['--broker', PUBLIC_HOST], ['--broker', 'mqtt://127.0.0.1:1', '--engine', 'mosquitto']]) {
    let err = '';
    const code = await settle(COMMANDS.probe, (a) => main(a, { out: new PassThrough(), err: new PassThrough(), env: {} }, LIMITS), argv, (line) => (err += line));
    assert.equal(code, EXIT.usage, argv.join(' '));
    assert.equal(err.split('\n').filter((l) => l.startsWith('Error: ')).length, 1, err);
  }
});

test('mosquitto with max_qos 1: QoS 2 granted as 1 and refused on publish, left out of later runs', needsMosquitto, async (t) => {
  const broker = await testMosquitto(t, { config: ['max_qos 1'] });
  const card = await probe(['--quick', '--broker', broker.url, '--only', 'granted,matrix,offline,order']);
  // The offline question's publishers speak MQTT 5: the QoS 2 one is told why, in a DISCONNECT (0x9B QoS not supported).
  assert.equal((card.byId.offline!.figures.publisher as { reasonCodes: Record<string, number> }).reasonCodes['DISCONNECT 0x9b'], 1);
  assert.match(card.byId.offline!.fact, /DISCONNECT 0x9b QoS not supported ×1/);
  assert.equal(card.byId.granted!.verdict, 'differs');
  assert.match(card.byId.granted!.fact, /asked 2 → granted 1; MQTT 5 CONNACK Maximum QoS: 1/);
  assert.equal(card.byId.matrix!.verdict, 'differs');
  assert.match(card.byId.matrix!.fact, /pub 2: - - -/);
  assert.match(card.byId.order!.fact, /QoS 1: 300 of 300 delivered, in order; QoS 2 not tested \(the broker refuses it\)/);
  assert.equal(card.code, EXIT.ok);
});

test('the card on a terminal: a heading, one line per question with its records, red for a broken rule', async (t) => {
  const broker = await misbehavingBroker(t);
  const out = Object.assign(new PassThrough(), { isTTY: true });
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const code = await main(['--broker', broker.url, '--only', 'granted,pubrec'], { out, err: new PassThrough(), env: {} }, LIMITS);
  const lines = text.trimEnd().split('\n');
  assert.equal(code, EXIT.violation);
  assert.equal(lines[0], `Broker report card: ${broker.url}`);
  assert.match(lines[1]!, /^ {2}\x1b\[33mdiffers \(allowed\) +\x1b\[0m {2}granted QoS per requested QoS: .*\(records [\d, -]+\)\x1b\[0m$/);
  assert.match(lines[2]!, /^ {2}\x1b\[31mviolates \[MQTT-4\.3\.3-2\]\x1b\[0m {2}the answer to a QoS 2 PUBLISH: answered a QoS 2 PUBLISH with PUBACK/);
  assert.match(lines.at(-1)!, /^verdict: 1 broken: pubrec$/);
});

test('a broker that cannot be reached: one Error line, exit 2', async () => {
  const port = await freePort();
  let err = '';
  const code = await settle(COMMANDS.probe, (a) => main(a, { out: new PassThrough(), err: new PassThrough(), env: {} }, LIMITS), ['--broker', `127.0.0.1:${port}`], (line) => (err += line));
  assert.equal(code, EXIT.connect);
  assert.match(err, /^Error: cannot reach the broker at mqtt:\/\/127\.0\.0\.1:\d+: connection refused/);
  assert.equal(err.trim().split('\n').length, 1);
});

test('-u/-P reach every client the probe makes (the hand-made CONNECTs, the lab pairs, chaos); without them a refusal is one Error line, exit 3; TLS flags are refused in one line', async (t) => {
  const broker = await startBroker({ port: 0, credentials: { username: 'ann', password: 'hunter2' } });
  t.after(() => broker.close());
  const dir = mkdtempSync(join(tmpdir(), 'probe-login-'));
  const trace = join(dir, 'trace.jsonl');
  const card = await probe(['--quick', '--broker', broker.url, '-u', 'ann', '-P', 'hunter2', '--only', 'versions,matrix,retained,chaos', '--trace', trace]);
  assert.equal(card.byId.versions!.verdict, 'conforms', card.byId.versions!.fact);
  assert.match(card.byId.versions!.fact, /3\.1 accepted, 3\.1\.1 accepted/);
  for (const id of ['matrix', 'retained', 'chaos']) assert.equal(card.byId[id]!.verdict, 'conforms', `${id}: ${card.byId[id]!.fact}`);
  const text = readFileSync(trace, 'utf8');
  // Every CONNACK said yes (bar aedes's refusal of MQTT 5), and the password is never written.
  const connacks = text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; reasonCode?: number; clientId: string }).filter((r) => r.type === 'connack' && !r.clientId.startsWith('probe-v5-'));
  assert.ok(connacks.length > 10);
  assert.deepEqual([...new Set(connacks.map((r) => r.reasonCode))], [0]);
  assert.doesNotMatch(text + card.out, /hunter2/);
  for (const argv of [['--broker', broker.url], ['--broker', broker.url, '-u', 'ann', '-P', 'wrong']]) {
    let err = '';
    const code = await settle(COMMANDS.probe, (a) => main(a, { out: new PassThrough(), err: new PassThrough(), env: {} }, LIMITS), argv, (line) => (err += line));
    assert.equal(code, EXIT.refused, argv.join(' '));
    assert.equal(err.trim().split('\n').length, 1, err);
    assert.match(err, /^Error: /);
    assert.doesNotMatch(err, /wrong/);
  }
  for (const argv of [['--ca', 'ca.pem'], ['--insecure'], ['--broker', 'mqtts://127.0.0.1:8883']]) {
    let err = '';
    const code = await settle(COMMANDS.probe, (a) => main(a, { out: new PassThrough(), err: new PassThrough(), env: {} }, LIMITS), argv, (line) => (err += line));
    assert.equal(code, EXIT.usage, argv.join(' '));
    assert.match(err, /^Error: .*plain TCP relay/);
    assert.equal(err.trim().split('\n').length, 1, err);
  }
});

test("'-' is stdout: --trace - puts the trace there, one record a line, and the card on stderr; --json with a '-' is refused", async () => {
  const out = sink();
  const err = sink();
  const code = await main(['--quick', '--only', 'versions', '--trace', '-'], { out: out.stream, err: err.stream, env: { NO_COLOR: '1' } }, LIMITS);
  assert.equal(code, EXIT.ok);
  const lines = out.text().trim().split('\n').map((l) => JSON.parse(l) as { record: number; type: string; protocolVersion?: number });
  assert.deepEqual(lines.map((r) => r.record), lines.map((_, i) => i + 1));
  assert.deepEqual(lines.filter((r) => r.type === 'connect').map((r) => r.protocolVersion), [3, 4, 5]);
  assert.match(err.text(), /^Broker report card: .*\n {2}conforms +protocol versions accepted: .*\(records 2, 5, 8\)\n.*record numbers are lines of the trace on stdout\n/);
  for (const argv of [['--json', '--markdown', '-'], ['--json', '--trace', '-'], ['--trace', '-', '--markdown', '-']]) {
    let errors = '';
    const refused = await settle(COMMANDS.probe, (a) => main(a, { out: new PassThrough(), err: new PassThrough(), env: {} }, LIMITS), argv, (line) => (errors += line));
    assert.equal(refused, EXIT.usage, argv.join(' '));
    assert.match(errors, /^Error: .*stdout/);
    assert.equal(errors.trim().split('\n').length, 1);
  }
});

for (const [signal, exit] of [['SIGINT', EXIT.interrupted], ['SIGTERM', EXIT.terminated]] as const) {
  test(`${signal} mid-battery: exit ${exit}, and the mosquitto it started is gone`, needsMosquitto, async (t) => {
    const run = runCli('probe', ['--engine', 'mosquitto', '--no-color'], { t });
    const out = await run.waitFor(/protocol versions accepted/);
    const url = /^Broker report card: mosquitto \S+ on (mqtt:\/\/\S+)$/m.exec(out)![1]!;
    run.child.kill(signal);
    const done = await run.done;
    assert.equal(done.code, exit, done.stderr);
    assert.equal(done.stderr, '');
    const { port } = new URL(url);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port: Number(port) });
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });
    assert.ok(refused, `nothing listens on ${url} any more`);
  });
}

test('the probe\'s --trace equals the wire: an independent witness between its recorder and the broker sees the same packets per connection and direction', async (t) => {
  const broker = await startBroker({ port: 0 });
  t.after(() => broker.close());
  const wire = await witness(t, `mqtt://127.0.0.1:${broker.port}`);
  const trace = join(mkdtempSync(join(tmpdir(), 'probe-wire-')), 'trace.jsonl');
  const card = await probe(['--quick', '--only', 'granted,matrix,pubrec', '--broker', `mqtt://127.0.0.1:${wire.port}`, '--trace', trace]);
  assert.equal(card.code, EXIT.ok, card.err);
  await wire.settled();
  type Rec = { connection: number; clientId?: string; direction: 'send' | 'receive'; type: string; bytes: number; messageId?: number };
  const records = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);
  // The recorder's "receive" is what it took from a client, toward the broker.
  const view = (cmd: string, bytes: number, id?: number) => `${cmd} ${bytes}B${id === undefined ? '' : ` id=${id}`}`;
  const ours = new Map<number, { toBroker: string[]; toClient: string[] }>();
  for (const r of records) {
    const c = ours.get(r.connection) ?? { toBroker: [], toClient: [] };
    ours.set(r.connection, c);
    (r.direction === 'receive' ? c.toBroker : c.toClient).push(view(r.type, r.bytes, r.messageId));
  }
  const key = (c: { toBroker: string[]; toClient: string[] }) => JSON.stringify(c);
  // The one connection check before the battery (client id probe-PID-hello) goes straight to the broker, unrecorded.
  const theirs = wire.connections.filter((c) => !/^probe-\d+-hello$/.test(c.clientId)).map((c) => {
    const packets = c.packets.filter((p) => p.cmd !== 'malformed');
    const side = (d: string) => packets.filter((p) => p.direction === d).map((p) => view(p.cmd, p.bytes, p.messageId));
    return key({ toBroker: side('toBroker'), toClient: side('toClient') });
  });
  // Connection numbers are each relay's own accept order: compare the connections as a set.
  assert.deepEqual([...ours.values()].map(key).sort(), theirs.sort());
  assert.ok(records.length > 30, `${records.length} records`);
});
