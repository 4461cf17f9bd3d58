// The flags a mosquitto_pub / mosquitto_sub user types, against a real broker:
// what reaches the wire is what those flags mean there (the broker's tap says).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { EXIT } from '../../src/cli/errors';
import type { Io } from '../../src/cli/io';
import { settle } from '../../src/cli/main';
import { inputLines, readInput } from '../../src/cli/options/input';
import type { BrokerPacketEvent } from '../../src/mqtt/packet-event';
import { main as publish } from '../../src/publish';
import { main as subscribe } from '../../src/subscribe';
import { testBroker } from '../support/broker';
import { hostileBroker, HOSTILE } from '../support/hostile-broker';
import { makeCerts, type Certs } from '../support/certs';
import { needsMosquitto, testMosquitto } from '../support/mosquitto';
import { ROOT } from '../support/cli';
import { assertToolMatchesWire, witness } from '../support/witness';

interface Outcome {
  code: number;
  out: string;
  err: string;
}

interface Running {
  done: Promise<Outcome>;
  /** Resolves once stdout or stderr so far matches. */
  waitFor(pattern: RegExp): Promise<void>;
}

function start(tool: 'publish' | 'subscribe', argv: string[], input?: Readable): Running {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) if (w.pattern.test(text)) waiters.splice(waiters.indexOf(w), 1) && w.resolve();
  };
  let outText = '';
  let errText = '';
  out.on('data', (d: Buffer) => ((outText += d.toString()), (text += d.toString()), check()));
  err.on('data', (d: Buffer) => ((errText += d.toString()), (text += d.toString()), check()));
  const io: Io = { out, err, env: { NO_COLOR: '1' }, in: input ?? Readable.from([]) };
  const main = tool === 'publish' ? publish : subscribe;
  const done = settle(tool, (a) => main(a, io), argv, (line) => (errText += line)).then((code) => ({ code, out: outText, err: errText }));
  return { done, waitFor: (pattern) => new Promise<void>((resolve) => (waiters.push({ pattern, resolve }), check())) };
}

const published = (events: BrokerPacketEvent[], clientId: string) =>
  events.filter((e) => e.clientId === clientId && e.direction === 'receive' && e.packet.cmd === 'publish').map((e) => e.packet as { payload: Buffer; retain: boolean; topic: string });

test('-h HOST -p PORT reach the broker (-h is no longer the help); -n publishes an empty payload, -r retained', async (t) => {
  const broker = await testBroker(t);
  const port = new URL(broker.url).port;
  const o = await start('publish', ['-h', '127.0.0.1', '-p', port, '-t', 'lamp', '-n', '-r', '-i', 'hp']).done;
  assert.equal(o.code, EXIT.ok, o.err);
  assert.doesNotMatch(o.out, /Usage|--help/);
  const [p] = published(broker.events, 'hp');
  assert.equal(p?.payload.length, 0);
  assert.equal(p?.retain, true);
});

test('-l: one PUBLISH per stdin line as mosquitto_pub -l sends them (empty line empty, \\r kept, last line without \\n too)', async (t) => {
  const broker = await testBroker(t);
  const o = await start('publish', ['--broker', broker.url, '-t', 'logs', '-l', '-q', '1', '-i', 'lines'], Readable.from([Buffer.from('one\n\nb2\r\n'), Buffer.from('c')])).done;
  assert.equal(o.code, EXIT.ok, o.err);
  assert.deepEqual(published(broker.events, 'lines').map((p) => p.payload.toString('latin1')), ['one', '', 'b2\r', 'c']);
});

test('-s and -f -: all of stdin is one message, byte for byte', async (t) => {
  const broker = await testBroker(t);
  const bytes = Buffer.from([0, 10, 0xff, 13, 10, 65]);
  for (const [flag, id] of [[['-s'], 'whole-s'], [['-f', '-'], 'whole-f']] as const) {
    const o = await start('publish', ['--broker', broker.url, '-t', 'blob', ...flag, '-i', id], Readable.from([bytes.subarray(0, 3), bytes.subarray(3)])).done;
    assert.equal(o.code, EXIT.ok, o.err);
    assert.deepEqual(published(broker.events, id).map((p) => p.payload), [bytes]);
  }
});

test('subscribe -t twice: one SUBSCRIBE for both; -C 2 exits after two; --json prints each message as one JSON object on stdout', async (t) => {
  const broker = await testBroker(t);
  const sub = start('subscribe', ['--broker', broker.url, '-t', 'a', '-t', 'b/#', '-q', '1', '-C', '2', '--json', '-i', 'two', '--clean']);
  await sub.waitFor(/subscribed to 'b\/#'/);
  for (const [topic, payload] of [['a', 'hello'], ['b/x', '\u00ff binary']] as const) {
    const o = await start('publish', ['--broker', broker.url, '-t', topic, '-q', '1', ...(topic === 'a' ? ['-m', payload] : ['-s']), '-i', `p-${topic.replace('/', '')}`], Readable.from([Buffer.from([0xff, 0x00])])).done;
    assert.equal(o.code, EXIT.ok, o.err);
  }
  const o = await sub.done;
  assert.equal(o.code, EXIT.ok, o.err);
  const subscribes = broker.events.filter((e) => e.clientId === 'two' && e.packet.cmd === 'subscribe');
  assert.equal(subscribes.length, 1);
  assert.deepEqual((subscribes[0]!.packet as { subscriptions: { topic: string }[] }).subscriptions.map((s) => s.topic), ['a', 'b/#']);
  // stdout holds only the JSON lines; the packet lines went to stderr.
  const lines = o.out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.deepEqual({ ...lines[0], time: undefined }, { topic: 'a', qos: 1, retain: false, payload: 'hello', time: undefined });
  assert.deepEqual({ ...lines[1], time: undefined }, { topic: 'b/x', qos: 1, retain: false, payload: Buffer.from([0xff, 0]).toString('base64'), encoding: 'base64', time: undefined });
  assert.match(String(lines[0]!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(o.err, /^receive: suback/m);
});

test('the will flags put a Will in CONNECT (the broker sees it; -d shows it, as --verbose)', async (t) => {
  const broker = await testBroker(t);
  const o = await start('publish', ['--broker', broker.url, '-t', 't', '-m', 'x', '--will-topic', 'gone', '--will-payload', 'bye', '--will-qos', '1', '--will-retain', '-d', '-i', 'willing']).done;
  assert.equal(o.code, EXIT.ok, o.err);
  const connect = broker.events.find((e) => e.clientId === 'willing' && e.packet.cmd === 'connect')?.packet as { will?: { topic: string; payload: Buffer; qos: number; retain: boolean } };
  assert.deepEqual({ ...connect.will, payload: connect.will?.payload.toString() }, { topic: 'gone', payload: 'bye', qos: 1, retain: true });
  assert.match(o.out, /^send: connect {2}client-id=willing .*will-topic=gone will-qos=1 will-retain=1 will-payload=3B$/m);
});

test('a Will is published by the broker when the client vanishes without DISCONNECT', async (t) => {
  const broker = await testBroker(t);
  const sub = start('subscribe', ['--broker', broker.url, '-t', 'gone', '-C', '1', '-i', 'watcher', '--clean']);
  await sub.waitFor(/subscribed to 'gone'/);
  // -l keeps the publisher connected while stdin is open; --fault cuts its connection as a vanished client's would be.
  const input = new PassThrough();
  const pub = start('publish', ['--broker', broker.url, '-t', 't', '-l', '--will-topic', 'gone', '--will-payload', 'bye', '--fault', 'every:200', '-i', 'vanishing'], input);
  const got = await sub.done;
  assert.equal(got.code, EXIT.ok, got.err);
  assert.match(got.out, /^message #1 on gone at QoS 0: bye$/m);
  input.end();
  await pub.done;
});

test('-l: a stdin line longer than a PUBLISH can hold is one error, found before it is all in memory', async () => {
  const lines = inputLines(Readable.from([Buffer.from('ok\n'), Buffer.alloc(6, 0x61), Buffer.alloc(6, 0x61)]), 10, 'why');
  assert.deepEqual((await lines.next()).value, Buffer.from('ok'));
  await assert.rejects(lines.next(), /^UsageError: --lines: line 2 of stdin is more than 10 bytes: why$/);
});

test('-s: stdin longer than a PUBLISH can hold is one error, found before it is all in memory', async () => {
  assert.deepEqual(await readInput(Readable.from([Buffer.from('abcd')]), '--stdin', 4, 'why'), Buffer.from('abcd'));
  await assert.rejects(readInput(Readable.from([Buffer.from('abc'), Buffer.from('de'), Buffer.alloc(1e6)]), '--stdin', 4, 'why'), /^UsageError: --stdin: stdin holds more than 4 bytes: why$/);
});

test('-l with stdin still open: Ctrl-C ends it at once (exit 130), stdin does not hold the process', async (t) => {
  const broker = await testBroker(t);
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'publish.ts'), '--broker', broker.url, '-t', 'logs', '-l', '-q', '1', '-i', 'open-stdin'], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  const acked = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((out += d.toString()), /receive: puback/.test(out) && resolve())));
  child.stdin.write('first\n');
  await acked;
  const started = performance.now();
  child.kill('SIGINT');
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, EXIT.interrupted, out);
  assert.ok(performance.now() - started < 3000, `ended ${Math.round(performance.now() - started)} ms after Ctrl-C`);
  assert.match(out, /send: disconnect/);
});

test('-W is the whole run, as in mosquitto_sub: a broker that never answers SUBSCRIBE ends it at W seconds (exit 4), not W plus a grace for the SUBSCRIBE in flight', async (t) => {
  const broker = await hostileBroker(t, HOSTILE.neverSuback);
  const started = performance.now();
  const o = await start('subscribe', ['-b', broker.url, '-t', 'lamp', '-W', '1', '-i', 'w-bound']).done;
  const took = performance.now() - started;
  assert.equal(o.code, EXIT.timeout, o.err);
  assert.match(o.err, /^Error: timed out: no SUBACK for our SUBSCRIBE to 'lamp' within 1 s \(--timeout\)$/m);
  // DISCONNECT still goes out first; the 2 s that end() gives handshakes in flight is not added.
  assert.match(o.out, /send: disconnect/);
  assert.ok(took < 1800, `ended ${Math.round(took)} ms after start, for -W 1`);
});

test('-l: a connection lost while waiting for the next line says which message it was waiting for and how many went out', async (t) => {
  const broker = await hostileBroker(t, HOSTILE.closeAfterConnack);
  const stdin = new PassThrough();
  t.after(() => stdin.destroy());
  const o = await start('publish', ['-b', broker.url, '-t', 'logs', '-l', '-q', '1', '-i', 'lost-l'], stdin).done;
  assert.notEqual(o.code, EXIT.ok);
  assert.equal(o.err.match(/^Error: /gm)?.length, 1, o.err);
  assert.match(o.err, /^Error: the broker at mqtt:\/\/127\.0\.0\.1:\d+ closed the connection while waiting for message 1 \(0 published before it\)$/m);
});

/** A server certificate for another host name (elsewhere.example), signed by the CA of `c`. */
function certForOtherHost(c: Certs): { cert: string; key: string } {
  const at = (file: string) => join(c.dir, file);
  writeFileSync(at('other.ext'), 'subjectAltName=DNS:elsewhere.example\n');
  for (const args of [
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'other.key', '-out', 'other.csr', '-subj', '/CN=elsewhere.example'],
    ['x509', '-req', '-in', 'other.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'other.pem', '-extfile', 'other.ext'],
  ]) {
    const run = spawnSync('openssl', args, { cwd: c.dir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
  }
  return { cert: at('other.pem'), key: at('other.key') };
}

test("--cafile with --insecure is mosquitto's: the chain is checked against the CA, only the host name is not", needsMosquitto, async (t) => {
  const ours = makeCerts(t);
  const stranger = makeCerts(t);
  const other = certForOtherHost(ours);
  const broker = await testMosquitto(t, { config: [`cafile ${ours.ca}`, `certfile ${other.cert}`, `keyfile ${other.key}`, 'require_certificate false'] });
  const publishTo = (extra: string[]) => start('publish', ['-h', '127.0.0.1', '-p', String(broker.port), '-t', 'tls', '-q', '1', '--clean', ...extra]).done;

  const named = await publishTo(['--cafile', ours.ca]);
  assert.equal(named.code, EXIT.connect, 'the certificate is for elsewhere.example, not 127.0.0.1');
  // The CA is trusted: the line says the name is wrong, not to pass a CA.
  assert.match(named.err, /^Error: the broker at mqtts:\/\/127\.0\.0\.1:\d+ presented a TLS certificate for another name \(.*\); connect by a name it lists/m);

  const hostUnchecked = await publishTo(['--cafile', ours.ca, '--insecure']);
  assert.equal(hostUnchecked.code, EXIT.ok, hostUnchecked.err);
  assert.match(hostUnchecked.out, /receive: puback/);

  // Before, --insecure switched verification off and the --cafile given was silently unused.
  const wrongCa = await publishTo(['--cafile', stranger.ca, '--insecure']);
  assert.equal(wrongCa.code, EXIT.connect, wrongCa.out);
  assert.match(wrongCa.err, /cannot trust/);

  const noCheck = await publishTo(['--insecure']);
  assert.equal(noCheck.code, EXIT.ok, noCheck.err);
});

test('the new flags\' packet lines equal the wire: two -t in one SUBSCRIBE with --json (lines on stderr), -l, -d with a Will in CONNECT', async (t) => {
  const broker = await testBroker(t);
  const wire = await witness(t, broker.url);
  const url = `mqtt://127.0.0.1:${wire.port}`;
  const sub = start('subscribe', ['-b', url, '-t', 'home/#', '-t', 'alerts', '-q', '1', '-C', '2', '--json', '-d', '-i', 'w-sub']);
  await sub.waitFor(/receive: suback/);
  const pub = await start('publish', ['-b', url, '-t', 'alerts', '-l', '-q', '1', '-d', '-i', 'w-pub', '--will-topic', 'gone', '--will-payload', 'bye', '--will-qos', '1'], Readable.from(['smoke\n', 'fire\n'])).done;
  assert.equal(pub.code, EXIT.ok, pub.err);
  const got = await sub.done;
  assert.equal(got.code, EXIT.ok, got.err);
  assert.equal(got.out.trim().split('\n').length, 2, 'two JSON lines on stdout');
  await wire.settled();
  assertToolMatchesWire(pub.out, wire, 'w-pub', { verbose: true });
  assertToolMatchesWire(got.err, wire, 'w-sub', { verbose: true });
  assert.match(pub.out, /^send: connect .*will-topic=gone/m);
  // The Will's fields are held against the CONNECT's bytes too.
  assert.throws(() => assertToolMatchesWire(pub.out.replace('will-qos=1', 'will-qos=2'), wire, 'w-pub', { verbose: true }), /will-qos/);
});
