// The pair against a second, independent broker: Debian's mosquitto.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packetLines, runCli } from './support/cli';
import { needsMosquitto, testMosquitto } from './support/mosquitto';

test('mosquitto: publish QoS 2, subscribe QoS 1 delivers at QoS 1', needsMosquitto, async (t) => {
  const broker = await testMosquitto(t);
  const sub = runCli('subscribe', ['--broker', broker.url, '--qos', '1', '--count', '1', '--timeout', '20', '--client-id', 'm-sub', '--topic', 'm/t']);
  await sub.waitFor(/^subscribed to/m);
  const pub = await runCli('publish', ['--broker', broker.url, '--qos', '2', '--client-id', 'm-pub', '--topic', 'm/t']).done;
  const got = await sub.done;
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal(got.code, 0, got.stderr);
  assert.deepEqual(packetLines(pub.stdout), ['send: connect', 'receive: connack', 'send: publish', 'receive: pubrec', 'send: pubrel', 'receive: pubcomp', 'send: disconnect']);
  assert.deepEqual(packetLines(got.stdout), ['send: connect', 'receive: connack', 'send: subscribe', 'receive: suback', 'receive: publish', 'send: puback', 'send: disconnect']);
});
