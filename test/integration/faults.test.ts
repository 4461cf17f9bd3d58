// Each fault point, for real: a CLI with --fault against a fresh broker (aedes,
// and mosquitto behind its tap), asserting the recovery on the broker's own tap (what reached it),
// not on what the client believes it sent; and, through the witness between the
// tool's fault proxy and the broker, that each printed line was on the wire.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { BrokerPacketEvent } from '../../src/mqtt/packet-event';
import type { TraceRecord } from '../../src/mqtt/trace';
import { runCli } from '../support/cli';
import { testBroker } from '../support/broker';
import { needsMosquitto, testTappedMosquitto } from '../support/mosquitto';
import { assertToolMatchesWire, assertTraceMatchesWire, witness } from '../support/witness';

/** The packets the broker received from (or sent to) one client, as `cmd id dup`. */
function seen(events: BrokerPacketEvent[], clientId: string, direction: 'receive' | 'send', cmds: string[]): string[] {
  return events
    .filter((e) => e.clientId === clientId && e.direction === direction && cmds.includes(e.packet.cmd))
    .map(({ packet: p }) => (p.cmd === 'publish' ? `publish dup=${p.dup ? 1 : 0}` : p.cmd));
}

function sameId(events: BrokerPacketEvent[], clientId: string, direction: 'receive' | 'send', cmd: string): boolean {
  const ids = events.filter((e) => e.clientId === clientId && e.direction === direction && e.packet.cmd === cmd).map((e) => e.packet.messageId);
  return ids.length > 1 && ids.every((id) => id === ids[0]);
}

const PUBLISHER_CASES = [
  { qos: 1, fault: 'puback', received: ['publish dup=0', 'publish dup=1'], resend: /resent PUBLISH id=\d+ with DUP=1/, again: 'publish' },
  { qos: 2, fault: 'pubrec', received: ['publish dup=0', 'publish dup=1', 'pubrel'], resend: /resent PUBLISH id=\d+ with DUP=1/, again: 'publish' },
  { qos: 2, fault: 'pubcomp', received: ['publish dup=0', 'pubrel', 'pubrel'], resend: /resent PUBREL id=\d+: its PUBCOMP never arrived/, again: 'pubrel' },
] as const;

type Engine = 'aedes' | 'mosquitto';
const ENGINES: Engine[] = ['aedes', 'mosquitto'];

/** A fresh broker with a tap: aedes's own, or the tap proxy in front of mosquitto. */
function brokerFor(engine: Engine, t: TestContext): Promise<{ url: string; events: BrokerPacketEvent[] }> {
  return engine === 'aedes' ? testBroker(t) : testTappedMosquitto(t);
}

for (const engine of ENGINES) {
  for (const c of PUBLISHER_CASES) {
    test(`${engine}: publish QoS ${c.qos} --fault ${c.fault}: the publisher reconnects and the broker receives the resend`, engine === 'mosquitto' ? needsMosquitto : {}, async (t) => {
      const broker = await brokerFor(engine, t);
      const wire = await witness(t, broker.url);
      const id = `fault-pub-${c.fault}`;
      const dir = mkdtempSync(join(tmpdir(), 'mqtt-qos-lab-fault-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const json = join(dir, 'trace.jsonl');
      const run = await runCli('publish', ['--broker', wire.url, '--qos', String(c.qos), '--fault', c.fault, '--client-id', id, '-v', '--topic', 'f/p', '--trace', json]).done;
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      assert.deepEqual(seen(broker.events, id, 'receive', ['publish', 'pubrel']), c.received);
      assert.ok(sameId(broker.events, id, 'receive', c.again), 'the resend carries the same packet id');
      assert.equal(broker.events.filter((e) => e.clientId === id && e.packet.cmd === 'connect').length, 2, 'one reconnect, same client id');
      assert.match(run.stdout, new RegExp(`fault: the proxy cut the connection \\(before ${c.fault}\\)`));
      assert.match(run.stdout, /^send: connect {2}client-id=fault-pub-\S+ clean=false/m);
      assert.match(run.stdout, c.resend);
      await wire.settled();
      assertToolMatchesWire(run.stdout, wire, id, { verbose: true, fault: { swallowed: c.fault } });
      const records = readFileSync(json, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as TraceRecord);
      assertTraceMatchesWire(records, wire, id, { fault: { swallowed: c.fault } });
    });
  }
}

for (const engine of ENGINES) {
  test(`${engine}: subscribe QoS 1 --fault puback: the broker redelivers the message on the resumed session`, engine === 'mosquitto' ? needsMosquitto : {}, async (t) => {
    const broker = await brokerFor(engine, t);
    const wire = await witness(t, broker.url);
    const sub = runCli('subscribe', ['--broker', wire.url, '-v', '--qos', '1', '--fault', 'puback', '--count', '2', '--timeout', '20', '--client-id', 'fault-sub-1', '--topic', 'f/s1'], { t });
    await sub.waitFor(/^subscribed to/m);
    const pub = await runCli('publish', ['--broker', wire.url, '--qos', '1', '--client-id', 'fault-pub-s1', '--topic', 'f/s1', '--message', 'once']).done;
    assert.equal(pub.code, 0, pub.stderr);
    const got = await sub.done;
    assert.equal(got.code, 0, got.stderr);
    // At least once: one publish in, the same message out twice under one id, and only the second PUBACK arrived.
    assert.deepEqual(seen(broker.events, 'fault-sub-1', 'send', ['publish']).length, 2);
    assert.ok(sameId(broker.events, 'fault-sub-1', 'send', 'publish'));
    assert.deepEqual(seen(broker.events, 'fault-sub-1', 'receive', ['puback']), ['puback']);
    assert.deepEqual(
      got.stdout.split('\n').filter((l) => l.startsWith('message #')).map((l) => l.replace(/ \(.*\)/, '')),
      ['message #1 on f/s1 at QoS 1: once', 'message #2 on f/s1 at QoS 1: once'],
    );
    await wire.settled();
    assertToolMatchesWire(got.stdout, wire, 'fault-sub-1', { verbose: true, fault: { swallowed: 'puback' } });
    assertToolMatchesWire(pub.stdout, wire, 'fault-pub-s1');
  });

  test(`${engine}: subscribe QoS 2 --fault pubcomp: the broker resends PUBREL, the message is delivered once`, engine === 'mosquitto' ? needsMosquitto : {}, async (t) => {
    const broker = await brokerFor(engine, t);
    const wire = await witness(t, broker.url);
    const sub = runCli('subscribe', ['--broker', wire.url, '-v', '--qos', '2', '--fault', 'pubcomp', '--client-id', 'fault-sub-2', '--topic', 'f/s2'], { t });
    await sub.waitFor(/^subscribed to/m);
    const pub = await runCli('publish', ['--broker', wire.url, '--qos', '2', '--client-id', 'fault-pub-s2', '--topic', 'f/s2', '--message', 'exactly']).done;
    assert.equal(pub.code, 0, pub.stderr);
    await sub.waitFor(/reconnecting[\s\S]*receive: pubrel[\s\S]*send: pubcomp/);
    sub.child.kill('SIGINT');
    const got = await sub.done;
    assert.equal(got.code, 130, got.stderr);
    assert.deepEqual(seen(broker.events, 'fault-sub-2', 'send', ['publish', 'pubrel']), ['publish dup=0', 'pubrel', 'pubrel']);
    assert.deepEqual(seen(broker.events, 'fault-sub-2', 'receive', ['pubcomp']), ['pubcomp']);
    assert.equal(got.stdout.split('\n').filter((l) => l.startsWith('message #')).length, 1);
    await wire.settled();
    assertToolMatchesWire(got.stdout, wire, 'fault-sub-2', { verbose: true, fault: { swallowed: 'pubcomp' } });
    assertToolMatchesWire(pub.stdout, wire, 'fault-pub-s2');
  });
}
