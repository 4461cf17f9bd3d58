// publish-with-qos and subscribe-with-qos against real brokers: what they print
// is what crossed the wire (checked against the broker's tap), every wait is
// bounded, and what the learner reads says what happened.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { startBroker } from '../../src/broker/embedded';
import { freePort } from '../../src/broker/mosquitto';
import { EXIT } from '../../src/cli/errors';
import { connect } from '../../src/mqtt/connection';
import { FlowTracker } from '../../src/mqtt/flows';
import { escapeText } from '../../src/mqtt/format';
import type { BrokerPacketEvent } from '../../src/mqtt/packet-event';
import { publishAll } from '../../src/mqtt/publisher';
import { testBroker } from '../support/broker';
import { runCli } from '../support/cli';
import { hostileBroker, type HostileConnection } from '../support/hostile-broker';
import { assertOneError, packetLinesFull, run, start } from '../support/in-process';
import { needsMosquitto, testMosquitto, testTappedMosquitto } from '../support/mosquitto';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'wire-tools-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `send: puback id=3` → `puback 3`; the same key for a tap record, so the two can be compared. */
const key = (cmd: string, id?: number) => (id === undefined ? cmd : `${cmd} ${id}`);
function printedSends(out: string): string[] {
  return packetLinesFull(out)
    .filter((l) => l.startsWith('send: '))
    .map((l) => {
      const [, cmd, id] = /^send: (\w+)(?:\s+id=(\d+))?/.exec(l)!;
      return key(cmd!, id === undefined ? undefined : Number(id));
    });
}
function tapFrom(events: BrokerPacketEvent[], clientId: string): string[] {
  return events.filter((e) => e.clientId === clientId && e.direction === 'receive').map((e) => key(e.packet.cmd, (e.packet as { messageId?: number }).messageId));
}

test('mosquitto max_qos 1, MQTT 5: -v and the JSON trace show SUBSCRIBE as sent (qos 2), SUBACK granted 1', needsMosquitto, async (t) => {
  const broker = await testMosquitto(t, { config: ['max_qos 1'] });
  const trace = join(tempDir(t), 'sub.json');
  const o = await run('subscribe', ['--broker', broker.url, '-V', '5', '-q', '2', '-v', '--clean', '--timeout', '0.5', '--trace', trace, '-i', 'snap']);
  assert.equal(o.code, EXIT.timeout, o.err);
  assert.match(o.out, /^send: subscribe {2}id=\d+ topic=home\/sample_topic qos=2$/m);
  assert.match(o.out, /^receive: suback {2}id=\d+ granted=1$/m);
  const records = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; qos?: number; granted?: number[] });
  assert.equal(records.find((r) => r.type === 'subscribe')?.qos, 2);
  assert.deepEqual(records.find((r) => r.type === 'suback')?.granted, [1]);
});

/** What the hostile broker read from a connection, straight from the bytes: the independent witness. */
function wireFrom(c: HostileConnection): string[] {
  return c.received.map((p) => key(p.cmd, (p as { messageId?: number }).messageId));
}

for (const qos of [1, 2] as const) {
  test(`subscribe --count 1 at QoS ${qos}, three PUBLISHes in one burst: the rest is shown as not handed on, and every send: line is on the wire`, async (t) => {
    const broker = await hostileBroker(t, {
      on: {
        subscribe: (p, c) => {
          if (p.cmd !== 'subscribe') return false;
          c.send({ cmd: 'suback', messageId: p.messageId, granted: [qos] } as Packet);
          // One write: all three are in our socket buffer before the first is handled.
          c.sendRaw(Buffer.concat([1, 2, 3].map((id) => mqttPacket.generate({ cmd: 'publish', topic: 'count/t', payload: Buffer.from(`m${id}`), qos, messageId: id, dup: false, retain: false } as Packet))));
          return true;
        },
      },
    });
    const o = await run('subscribe', ['--broker', broker.url, '-q', String(qos), '--count', '1', '--clean', '-v', '-t', 'count/t', '-i', `burst-${qos}`, '--timeout', '5']);
    assert.equal(o.code, EXIT.ok, o.err);
    assert.equal(o.out.match(/^message #/gm)?.length, 1, o.out);
    const refused = o.out.match(/^received PUBLISH id=[23] on count\/t at QoS \d after --count 1 was reached: not handed on.*$/gm) ?? [];
    assert.equal(refused.length, 2, o.out);
    if (qos === 1) {
      assert.ok(refused.every((l) => l.endsWith('not acknowledged: with --clean the session ends now, and the message with it')), o.out);
      assert.deepEqual(printedSends(o.out).filter((s) => s.startsWith('puback')), ['puback 1']);
    } else {
      // All three PUBRECs went out before the first PUBREL came: those two are the broker's to count as delivered.
      assert.ok(refused.every((l) => /its PUBREC had gone out/.test(l)), o.out);
    }
    await broker.waitFor('disconnect');
    assert.deepEqual(printedSends(o.out), wireFrom(broker.connections[0]!));
  });
}

test('mosquitto: subscribe --count 1 -v while a publisher sends 3 at once: no send: line without its twin in the tap', needsMosquitto, async (t) => {
  const broker = await testTappedMosquitto(t);
  for (const qos of [1, 2] as const) {
    const id = `count-sub-${qos}`;
    const sub = start('subscribe', ['--broker', broker.url, '-q', String(qos), '--count', '1', '--clean', '-v', '-t', `count/${qos}`, '-i', id, '--timeout', '5']);
    await sub.waitFor(/^subscribed to/m);
    const pub = await run('publish', ['--broker', broker.url, '-q', String(qos), '--count', '3', '--interval', '0', '-t', `count/${qos}`, '--clean']);
    assert.equal(pub.code, EXIT.ok, pub.err);
    const o = await sub.done;
    assert.equal(o.code, EXIT.ok, o.err);
    assert.equal(o.out.match(/^message #/gm)?.length, 1, o.out);
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(printedSends(o.out), tapFrom(broker.events, id), o.out);
  }
});

test('ws:// to a port where nobody listens: no send: connect, exit 2', async () => {
  const port = await freePort();
  const o = await run('publish', ['--broker', `ws://127.0.0.1:${port}`, '-q', '1']);
  assert.deepEqual(packetLinesFull(o.out), []);
  assertOneError(o, EXIT.connect, /connection refused/, 5000);
});

test('MQTT 5 --no-clean keeps the session: -v CONNECT shows the expiry, a QoS 1 message sent while away arrives, and the learner is told why', needsMosquitto, async (t) => {
  const broker = await testMosquitto(t);
  const first = await run('subscribe', ['--broker', broker.url, '-V', '5', '-q', '1', '-t', 'away/old', '-i', 'v5-sub', '-v', '--timeout', '0.3']);
  assert.equal(first.code, EXIT.timeout, first.err);
  assert.match(first.out, /^send: connect {2}client-id=v5-sub clean=false protocol=5 keepalive=60 session-expiry=3600$/m);
  const pub = await run('publish', ['--broker', broker.url, '-V', '5', '-q', '1', '-t', 'away/old', '-m', 'kept', '--clean']);
  assert.equal(pub.code, EXIT.ok, pub.err);
  // Back with another --topic: the message comes through the subscription the session kept.
  const back = await run('subscribe', ['--broker', broker.url, '-V', '5', '-q', '1', '-t', 'away/new', '-i', 'v5-sub', '--count', '1', '--timeout', '3']);
  assert.equal(back.code, EXIT.ok, back.out + back.err);
  assert.match(back.out, /^session resumed \(sessionPresent=1\): .*--clean starts fresh$/m);
  assert.match(back.out, /^message #1 on away\/old at QoS 1 \(queued while offline, through an older subscription of this session, not the --topic asked for now\): kept$/m);
});

test('MQTT 5 --clean sends no session expiry; --session-expiry sets one; with 3.1.1 it is a usage error', async (t) => {
  const broker = await hostileBroker(t);
  const clean = await run('publish', ['--broker', broker.url, '-V', '5', '--clean', '-v']);
  assert.equal(clean.code, EXIT.ok, clean.err);
  assert.match(clean.out, /^send: connect {2}client-id=\S+ clean=true protocol=5 keepalive=60$/m);
  const set = await run('publish', ['--broker', broker.url, '-V', '5', '--session-expiry', '60', '-v']);
  assert.match(set.out, /^send: connect {2}.* session-expiry=60$/m);
  assert.equal((broker.connections[1]!.received[0] as Packet & { properties?: { sessionExpiryInterval?: number } }).properties?.sessionExpiryInterval, 60);
  assertOneError(await run('publish', ['--broker', broker.url, '--session-expiry', '60']), EXIT.usage, /--session-expiry needs --protocol 5/, 3000);
});

test('a DUP=1 delivery and a second copy under the same id are labelled as possible second copies', async (t) => {
  const copy = (c: HostileConnection, dup: boolean) => c.send({ cmd: 'publish', topic: 'home/sample_topic', payload: Buffer.from('twice'), qos: 1, messageId: 7, dup, retain: false } as Packet);
  const broker = await hostileBroker(t, {
    on: {
      subscribe: (p, c) => {
        if (p.cmd !== 'subscribe') return false;
        c.send({ cmd: 'suback', messageId: p.messageId, granted: [1] } as Packet);
        copy(c, true);
        return true;
      },
      puback: (_p, c) => {
        if (c.received.filter((r) => r.cmd === 'puback').length === 1) copy(c, false);
        return true;
      },
    },
  });
  const o = await run('subscribe', ['--broker', broker.url, '-q', '1', '--count', '2', '--timeout', '3']);
  assert.equal(o.code, EXIT.ok, o.err);
  assert.match(o.out, /^message #1 on home\/sample_topic at QoS 1 \(DUP=1: possibly a second copy, QoS 1 is at least once\): twice$/m);
  assert.match(o.out, /^message #2 on home\/sample_topic at QoS 1 \(same id, topic and payload as the one before: possibly a second copy, QoS 1 is at least once\): twice$/m);
});

test('text from the network cannot write fake lines or escapes into the terminal; the JSON trace keeps it exact', async (t) => {
  const topic = 'evil/\u001b[2J\nsend: disconnect\u202e';
  const broker = await hostileBroker(t, {
    on: {
      subscribe: (p, c) => {
        if (p.cmd !== 'subscribe') return false;
        c.send({ cmd: 'suback', messageId: p.messageId, granted: [0] } as Packet);
        c.send({ cmd: 'publish', topic, payload: Buffer.from('\u001b]0;owned\u0007\r\nreceive: pubcomp'), qos: 0, dup: false, retain: false } as Packet);
        return true;
      },
    },
  });
  const trace = join(tempDir(t), 'evil.json');
  const o = await run('subscribe', ['--broker', broker.url, '-t', '#', '-v', '--count', '1', '--timeout', '3', '--trace', trace]);
  assert.equal(o.code, EXIT.ok, o.err);
  assert.doesNotMatch(o.out, /[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
  assert.deepEqual(packetLinesFull(o.out).map((l) => l.split('  ')[0]), ['send: connect', 'receive: connack', 'send: subscribe', 'receive: suback', 'receive: publish', 'send: disconnect']);
  assert.match(o.out, /topic=evil\/\\x1b\[2J\\nsend: disconnect\\u202e/);
  assert.match(o.out, /: \\x1b\]0;owned\\x07\\r\\nreceive: pubcomp$/m);
  const publish = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; topic?: string }).find((r) => r.type === 'publish');
  assert.equal(publish?.topic, topic);
});

test('publish --count 5 into a closed stdout (| head -1) still publishes all 5, says so on stderr, exits 0', async (t) => {
  const broker = await testBroker(t);
  let writes = 0;
  const closed = new Writable({
    write(_chunk, _enc, cb) {
      // The first line goes through, as `head -1` reads it; then the pipe is gone.
      if (writes++ === 0) return cb();
      cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  const o = await start('publish', ['--broker', broker.url, '-q', '1', '--repeat', '5', '--interval', '0', '-i', 'piped'], { out: closed }).done;
  assert.equal(o.code, EXIT.ok, o.err);
  assert.match(o.err, /^stdout was closed: nothing more is shown there$/m);
  assert.equal(broker.events.filter((e) => e.clientId === 'piped' && e.direction === 'receive' && e.packet.cmd === 'publish').length, 5);
});

test('subscribe --log=stderr into a closed stdout stops taking messages and disconnects, exit 0', async (t) => {
  const broker = await hostileBroker(t, {
    on: {
      subscribe: (p, c) => {
        if (p.cmd !== 'subscribe') return false;
        c.send({ cmd: 'suback', messageId: p.messageId, granted: [1] } as Packet);
        c.send({ cmd: 'publish', topic: 'home/sample_topic', payload: Buffer.from('one'), qos: 1, messageId: 1, dup: false, retain: false } as Packet);
        return true;
      },
    },
  });
  const closed = new Writable({ write: (_chunk, _enc, cb) => cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
  const o = await start('subscribe', ['--broker', broker.url, '-q', '1', '--log', 'stderr', '-v'], { out: closed }).done;
  assert.equal(o.code, EXIT.ok, o.err);
  assert.match(o.err, /^stdout was closed: nothing more is shown there$/m);
  assert.equal(packetLinesFull(o.err).at(-1), 'send: disconnect');
  await broker.waitFor('disconnect');
  assert.deepEqual(printedSends(o.err), wireFrom(broker.connections[0]!));
});

test('a Buffer payload goes out byte for byte, and --log=stderr puts it raw on a non-terminal stdout', async (t) => {
  const broker = await testBroker(t);
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const sub = start('subscribe', ['--broker', broker.url, '-q', '1', '--count', '1', '--log', 'stderr', '--timeout', '5', '-t', 'bin/t']);
  await sub.waitFor(/^subscribed to/m);
  const conn = await connect({ url: broker.url, clientId: 'bin-pub', clean: true, protocol: 4 }, () => undefined);
  await publishAll(conn, { topic: 'bin/t', qos: 1, message: bytes, count: 1, interval: 0, retain: false });
  await conn.end();
  const o = await sub.done;
  assert.equal(o.code, EXIT.ok, o.err);
  assert.deepEqual(o.outBytes, Buffer.concat([bytes, Buffer.from('\n')]));
  const sent = broker.events.find((e) => e.clientId === 'bin-pub' && e.packet.cmd === 'publish')!.packet as Packet & { payload: Buffer };
  assert.deepEqual(Buffer.from(sent.payload), bytes);
});

test('--fault with a broker that goes away: a bounded reconnect budget, one line, exit 2', async () => {
  const broker = await startBroker({ port: 0 });
  const pub = start('publish', ['--broker', broker.url, '-q', '1', '--repeat', '50', '--interval', '100', '--fault', 'every:400', '-i', 'budget']);
  await pub.waitFor(/^receive: puback/m);
  await broker.close();
  const o = await Promise.race([pub.done, delay(15_000, null, { ref: false })]);
  assert.ok(o, 'publish still reconnecting after 15 s');
  assertOneError(o, EXIT.connect, /gave up reconnecting to the broker at \S+: 40 attempts in a row in [\d.]+ s got no CONNACK/, 15_000);
});

// Real signals need a real process.
test('SIGTERM with a QoS 1 PUBACK that never comes: at most ~2 s for it, DISCONNECT, exit 143', async (t) => {
  const broker = await hostileBroker(t, { on: { publish: () => true } });
  const pub = runCli('publish', ['--broker', broker.url, '-q', '1'], { t });
  await pub.waitFor(/^send: publish/m);
  const sent = Date.now();
  pub.child.kill('SIGTERM');
  const done = await pub.done;
  assert.equal(done.code, EXIT.terminated, done.stderr);
  assert.ok(Date.now() - sent < 4000, `took ${Date.now() - sent} ms`);
  assert.match(done.stdout, /^terminated: finishing 1 handshake\(s\) in flight for at most 2 s, then disconnecting \(SIGTERM again quits at once\)$/m);
  assert.equal(packetLinesFull(done.stdout).at(-1), 'send: disconnect');
  assert.equal(done.stderr, '');
  await broker.waitFor('disconnect');
});

test('a second Ctrl-C quits at once', async (t) => {
  const broker = await hostileBroker(t, { on: { publish: () => true } });
  const pub = runCli('publish', ['--broker', broker.url, '-q', '2'], { t });
  await pub.waitFor(/^send: publish/m);
  pub.child.kill('SIGINT');
  await pub.waitFor(/^interrupted: finishing 1 handshake/m);
  const second = Date.now();
  pub.child.kill('SIGINT');
  await pub.done;
  assert.ok(Date.now() - second < 1000, `took ${Date.now() - second} ms`);
  assert.equal(pub.child.signalCode, 'SIGINT');
});

test('subscribe: SIGTERM while the SUBACK never comes exits 143 at once', async (t) => {
  const broker = await hostileBroker(t, { on: { subscribe: () => true } });
  const sub = runCli('subscribe', ['--broker', broker.url], { t });
  await sub.waitFor(/^send: subscribe/m);
  const sent = Date.now();
  sub.child.kill('SIGTERM');
  const done = await sub.done;
  assert.equal(done.code, EXIT.terminated, done.stderr);
  assert.ok(Date.now() - sent < 3500, `took ${Date.now() - sent} ms`);
  assert.equal(done.stderr, '');
});

test('escapeText: control characters, ESC sequences and bidi overrides become visible escapes; other text stays', () => {
  assert.equal(escapeText('home/\u001b[31mred\u001b[0m'), 'home/\\x1b[31mred\\x1b[0m');
  assert.equal(escapeText('a\nsend: fake\r\t\u0000\u007f\u0085\u202e'), 'a\\nsend: fake\\r\\t\\x00\\x7f\\x85\\u202e');
  assert.equal(escapeText('température/客厅/😀'), 'température/客厅/😀');
});

test('the flow tracker names each broken acknowledgement rule', () => {
  const flows = new FlowTracker();
  const send = (p: object) => flows.sent(p as Packet);
  const got = (p: object) => flows.received(p as Packet)?.rule ?? null;
  send({ cmd: 'publish', qos: 1, messageId: 1, topic: 't', payload: Buffer.alloc(0), dup: false, retain: false });
  assert.equal(got({ cmd: 'pubrec', messageId: 1 }), 'MQTT-4.3.2-2');
  send({ cmd: 'publish', qos: 2, messageId: 2, topic: 't', payload: Buffer.alloc(0), dup: false, retain: false });
  assert.equal(got({ cmd: 'pubcomp', messageId: 2 }), 'MQTT-4.3.3-2', 'PUBCOMP before PUBREC');
  assert.equal(got({ cmd: 'pubrec', messageId: 2 }), null);
  assert.equal(got({ cmd: 'pubcomp', messageId: 2 }), null);
  assert.equal(got({ cmd: 'pubcomp', messageId: 2 }), 'MQTT-2.3.1-6', 'the flow is over: its id is free');
  assert.equal(got({ cmd: 'suback', messageId: 9, granted: [0] }), 'MQTT-3.8.4-2');
  send({ cmd: 'subscribe', messageId: 9, subscriptions: [{ topic: 't', qos: 0 }] });
  assert.equal(got({ cmd: 'suback', messageId: 9, granted: [0] }), null);
});

test('publish-with-qos --json FILE, the old spelling of --trace, is one line saying so; nothing is written, --trace writes the trace', async (t) => {
  const broker = await testBroker(t);
  const dir = tempDir(t);
  const [old, trace] = [join(dir, 'old.jsonl'), join(dir, 'trace.jsonl')];
  const common = ['--broker', broker.url, '-q', '1', '-i', 'alias-pub'];
  const before = await run('publish', [...common, '--json', old]);
  assert.equal(before.code, EXIT.usage);
  assert.equal(before.err, "Error: --json FILE is now --trace FILE (see 'publish-with-qos --help')\n");
  assert.equal(existsSync(old), false);
  const now = await run('publish', [...common, '--trace', trace]);
  assert.equal(now.code, EXIT.ok, now.err);
  assert.equal(now.err, '', 'no note for --trace');
  const types = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
  assert.deepEqual(types(trace), ['connect', 'connack', 'publish', 'puback', 'disconnect']);
});
