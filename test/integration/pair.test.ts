// The lesson's runs, for real: both CLIs against a fresh broker of each engine
// (the embedded aedes, and Debian's mosquitto behind the tap proxy), asserting
// the exact packet sequence each side printed and the broker's own view, and
// (through the witness in front of the broker) that every printed line was on the wire.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { packetLines, runCli } from '../support/cli';
import { testBroker } from '../support/broker';
import { needsMosquitto, testTappedMosquitto } from '../support/mosquitto';
import { hostileBroker } from '../support/hostile-broker';
import { assertToolMatchesWire, witness } from '../support/witness';
import type { Packet } from 'mqtt-packet';
import type { BrokerPacketEvent } from '../../src/mqtt/packet-event';

type Engine = 'aedes' | 'mosquitto';
const ENGINES: Engine[] = ['aedes', 'mosquitto'];

/** A fresh broker of either engine, with what its tap saw. */
function brokerFor(engine: Engine, t: TestContext): Promise<{ url: string; events: BrokerPacketEvent[] }> {
  return engine === 'aedes' ? testBroker(t) : testTappedMosquitto(t);
}

const CONNECT = ['send: connect', 'receive: connack'];
const PUBLISHER_FLOW: Record<number, string[]> = {
  0: ['send: publish'],
  1: ['send: publish', 'receive: puback'],
  2: ['send: publish', 'receive: pubrec', 'send: pubrel', 'receive: pubcomp'],
};
const SUBSCRIBER_FLOW: Record<number, string[]> = {
  0: ['receive: publish'],
  1: ['receive: publish', 'send: puback'],
  2: ['receive: publish', 'send: pubrec', 'receive: pubrel', 'send: pubcomp'],
};

let next = 0;
async function exchange(t: TestContext, url: string, pubQos: number, subQos: number) {
  const id = `t${process.pid}-${next++}`;
  const sub = runCli('subscribe', ['--broker', url, '-v', '--qos', String(subQos), '--count', '1', '--timeout', '20', '--client-id', `${id}-sub`, '--topic', `t/${id}`], { t });
  await sub.waitFor(/^subscribed to/m);
  const pub = runCli('publish', ['--broker', url, '-v', '--qos', String(pubQos), '--client-id', `${id}-pub`, '--topic', `t/${id}`], { t });
  return { id, pub: await pub.done, sub: await sub.done };
}

for (const engine of ENGINES) {
  for (const [pubQos, subQos] of [
    [0, 0],
    [1, 1],
    [2, 2],
    [1, 0],
    [0, 1],
    [2, 1],
  ] as const) {
    test(`${engine}: publish QoS ${pubQos}, subscribe QoS ${subQos}: each side prints its own flow, delivery at MIN = ${Math.min(pubQos, subQos)}`, engine === 'mosquitto' ? needsMosquitto : {}, async (t) => {
      const broker = await brokerFor(engine, t);
      const wire = await witness(t, broker.url);
      const { id, pub, sub } = await exchange(t, wire.url, pubQos, subQos);
      assert.equal(pub.code, 0, pub.stderr);
      assert.equal(sub.code, 0, sub.stderr);
      await wire.settled();
      assertToolMatchesWire(pub.stdout, wire, `${id}-pub`, { verbose: true });
      assertToolMatchesWire(sub.stdout, wire, `${id}-sub`, { verbose: true });
      assert.deepEqual(packetLines(pub.stdout), [...CONNECT, ...PUBLISHER_FLOW[pubQos]!, 'send: disconnect']);
      const delivered = Math.min(pubQos, subQos);
      assert.deepEqual(packetLines(sub.stdout), [...CONNECT, 'send: subscribe', 'receive: suback', ...SUBSCRIBER_FLOW[delivered]!, 'send: disconnect']);
      assert.match(sub.stdout, new RegExp(`^message #1 on t/\\S+ at QoS ${delivered}: \\{"data":"test"\\}$`, 'm'));
      if (delivered < subQos) assert.match(sub.stdout, /the publisher sent at QoS \d, and the broker forwards at MIN/);
      else assert.doesNotMatch(sub.stdout, /MIN\(/);

      // The broker's own view: PUBLISH in at the publisher's QoS, out at the delivered QoS.
      const publishes = broker.events.filter((e) => e.packet.cmd === 'publish');
      assert.deepEqual(
        publishes.map((e) => [e.direction, e.packet.cmd === 'publish' && e.packet.qos]),
        [
          ['receive', pubQos],
          ['send', delivered],
        ],
      );
      if (engine === 'mosquitto' && pubQos === 2 && delivered > 0) {
        // mosquitto forwards a QoS 2 message only once the publisher's PUBREL has arrived (aedes forwards on PUBLISH).
        const at = (cmd: string, direction: string) => broker.events.findIndex((e) => e.packet.cmd === cmd && e.direction === direction);
        assert.ok(at('pubrel', 'receive') < at('publish', 'send'), 'PUBREL in before PUBLISH out');
      }
    });
  }
}

for (const engine of ENGINES) {
  test(`${engine}: a clean:false subscriber gets QoS 1 and 2 messages queued while it was away, labelled, and not QoS 0`, engine === 'mosquitto' ? needsMosquitto : {}, async (t) => {
    const broker = await brokerFor(engine, t);
    const wire = await witness(t, broker.url);
    const common = ['--broker', wire.url, '-v', '--client-id', 'offline-sub', '--topic', 'offline/t', '--no-clean'];
    const first = runCli('subscribe', [...common, '--qos', '2', '--timeout', '20'], { t });
    await first.waitFor(/^subscribed to/m);
    first.child.kill('SIGINT');
    assert.equal((await first.done).code, 130);

    for (const qos of [0, 1, 2]) {
      const pub = await runCli('publish', ['--broker', wire.url, '--topic', 'offline/t', '--qos', String(qos), '--message', `m${qos}`, '--client-id', `offline-pub-${qos}`]).done;
      assert.equal(pub.code, 0, pub.stderr);
      await wire.settled();
      assertToolMatchesWire(pub.stdout, wire, `offline-pub-${qos}`);
    }

    const back = await runCli('subscribe', [...common, '--qos', '2', '--count', '2', '--timeout', '20']).done;
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /receive: connack/);
    const messages = back.stdout.split('\n').filter((l) => l.startsWith('message #'));
    if (engine === 'mosquitto') {
      // mosquitto sends the whole stored queue right after CONNACK, before it reads our SUBSCRIBE.
      assert.deepEqual(messages, ['message #1 on offline/t at QoS 1 (queued while offline): m1', 'message #2 on offline/t at QoS 2 (queued while offline): m2']);
    } else {
      // aedes reads SUBSCRIBE while it is still streaming the queue, so the second stored message may
      // come after SUBACK, where the wire cannot tell it from a live one: only the first label is certain.
      assert.equal(messages[0], 'message #1 on offline/t at QoS 1 (queued while offline): m1');
      assert.match(messages[1] ?? '', /^message #2 on offline\/t at QoS 2( \(queued while offline\))?: m2$/);
      assert.equal(messages.length, 2);
    }
    const connack = broker.events.find((e) => e.clientId === 'offline-sub' && e.packet.cmd === 'connack' && e.packet.sessionPresent);
    assert.ok(connack, 'the second CONNACK says sessionPresent=true');
    // Both runs of the subscriber, one connection each, as the witness saw them.
    await wire.settled();
    assertToolMatchesWire(`${(await first.done).stdout}${back.stdout}`, wire, 'offline-sub', { verbose: true });
  });
}

test('publish --file sends the file as the payload, byte for byte', async (t) => {
  const broker = await witness(t, (await testBroker(t)).url);
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-qos-lab-payload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'reading.json');
  writeFileSync(file, '{"temperature": 21.5}');
  const sub = runCli('subscribe', ['--broker', broker.url, '--qos', '1', '--count', '1', '--timeout', '20', '--topic', 'file/t', '--client-id', 'file-sub', '--log', 'stderr'], { t });
  await sub.waitForStderr(/^subscribed to/m);
  const pub = await runCli('publish', ['--broker', broker.url, '--qos', '1', '--topic', 'file/t', '--file', file, '--client-id', 'file-pub']).done;
  assert.equal(pub.code, 0, pub.stderr);
  const got = await sub.done;
  assert.equal(got.code, 0, got.stderr);
  assert.equal(got.stdout, '{"temperature": 21.5}\n');
  await broker.settled();
  assertToolMatchesWire(pub.stdout, broker, 'file-pub');
  assertToolMatchesWire(got.stderr, broker, 'file-sub');
  assert.equal(broker.packets().find((p) => p.cmd === 'publish')?.payloadBytes, Buffer.byteLength('{"temperature": 21.5}'));
});

test('subscribe --count 1, two more messages arriving as it says DISCONNECT: no send: line for a PUBACK that never left', async (t) => {
  const publish = (topic: string, messageId: number) => ({ cmd: 'publish', topic, payload: Buffer.from(`m${messageId}`), qos: 1, messageId, dup: false, retain: false }) as Packet;
  let topic = '';
  // The next two messages leave the broker the moment PUBACK 1 arrives: they reach the tool while it is ending.
  const broker = await hostileBroker(t, {
    on: {
      subscribe: (p, c) => {
        if (p.cmd !== 'subscribe') return false;
        topic = p.subscriptions[0]!.topic;
        c.send({ cmd: 'suback', messageId: p.messageId, granted: [1] } as Packet);
        c.send(publish(topic, 1));
        return true;
      },
      puback: (p, c) => {
        if (p.messageId === 1) [2, 3].forEach((id) => c.send(publish(topic, id)));
        return true;
      },
    },
  });
  const wire = await witness(t, broker.url);
  const run = await runCli('subscribe', ['--broker', wire.url, '-v', '--qos', '1', '--count', '1', '--clean', '--client-id', 'ending-sub', '--topic', 'end/t', '--timeout', '5'], { t }).done;
  assert.equal(run.code, 0, run.stderr);
  await wire.settled();
  // The wire: PUBACK 1, DISCONNECT, and nothing after it from the client [MQTT-3.14.4-2].
  const sent = wire.of('ending-sub')[0]!.packets.filter((p) => p.direction === 'toBroker').map((p) => `${p.cmd}${p.messageId === undefined ? '' : ` ${p.messageId}`}`);
  assert.deepEqual(sent.slice(-2), ['puback 1', 'disconnect']);
  await t.test('every send: line was on the wire', () => {
    assertToolMatchesWire(run.stdout, wire, 'ending-sub', { verbose: true });
  });
});
