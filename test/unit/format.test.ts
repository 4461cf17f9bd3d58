import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Packet } from 'mqtt-packet';
import { formatBrokerPacket, formatPacket, packetDetails, useColor } from '../../src/mqtt/format';
import { describeDelivery } from '../../src/cli/notes';

const plain = { verbose: false, color: false };
const verbose = { verbose: true, color: false };
const publish = { cmd: 'publish', messageId: 7, qos: 1, dup: false, retain: false, topic: 'home/t', payload: Buffer.from('{"data":"test"}') } as Packet;

test('the default line is the lesson form', () => {
  assert.equal(formatPacket({ at: 0, direction: 'send', packet: publish }, plain), 'send: publish');
  assert.equal(formatPacket({ at: 0, direction: 'receive', packet: { cmd: 'puback', messageId: 7 } as Packet }, plain), 'receive: puback');
});

test('verbose adds id, qos/dup/retain, topic and size for PUBLISH; only the id for acks', () => {
  assert.equal(formatPacket({ at: 0, direction: 'send', packet: publish }, verbose), 'send: publish  id=7 qos=1 dup=0 retain=0 topic=home/t payload=15B');
  assert.equal(formatPacket({ at: 0, direction: 'receive', packet: { cmd: 'pubrec', messageId: 7 } as Packet }, verbose), 'receive: pubrec  id=7');
  assert.equal(packetDetails({ cmd: 'publish', qos: 0, dup: false, retain: true, topic: 't', payload: '' } as Packet), 'qos=0 dup=0 retain=1 topic=t payload=0B');
});

test('CONNACK shows the session flag and the code by name; SUBACK the granted QoS', () => {
  assert.equal(packetDetails({ cmd: 'connack', sessionPresent: true, returnCode: 0 } as Packet), 'sessionPresent=true code=0 (accepted)');
  assert.equal(packetDetails({ cmd: 'connack', sessionPresent: false, returnCode: 5 } as Packet), 'sessionPresent=false code=5 (not authorized)');
  assert.equal(packetDetails({ cmd: 'suback', messageId: 3, granted: [1] } as Packet), 'id=3 granted=1');
});

test('a CONNECT never shows its password', () => {
  const line = packetDetails({ cmd: 'connect', clientId: 'c', clean: true, protocolVersion: 4, keepalive: 60, username: 'u', password: Buffer.from('s3cret') } as Packet);
  assert.doesNotMatch(line, /s3cret/);
  assert.match(line, /username=u password=<hidden>/);
});

test("the broker's lines name the client and always show a PUBLISH's QoS", () => {
  assert.equal(formatBrokerPacket({ at: 0, direction: 'receive', clientId: 'pub', packet: publish }, plain), 'pub -> broker: publish qos=1');
  assert.equal(formatBrokerPacket({ at: 0, direction: 'send', clientId: 'sub', packet: { ...publish, qos: 0 } as Packet }, plain), 'broker -> sub: publish qos=0');
});

test('color only on a terminal, and never with NO_COLOR', () => {
  assert.equal(useColor(true, { isTTY: true }, {}), true);
  assert.equal(useColor(true, { isTTY: false }, {}), false);
  assert.equal(useColor(false, { isTTY: true }, {}), false);
  assert.equal(useColor(true, { isTTY: true }, { NO_COLOR: '1' }), false);
  assert.match(formatPacket({ at: 0, direction: 'send', packet: publish }, { verbose: false, color: true }), /\x1b\[32m/);
});

test('a delivery line carries its tags', () => {
  const d = { topic: 't', payload: Buffer.from('x'), qos: 1 as const, dup: true, retain: false, queued: true, secondCopy: true, acknowledged: Promise.resolve() };
  assert.equal(describeDelivery(3, d, 'x'), 'message #3 on t at QoS 1 (queued while offline, DUP=1: possibly a second copy, QoS 1 is at least once): x');
  assert.equal(describeDelivery(3, d, undefined), 'message #3 on t at QoS 1 (queued while offline, DUP=1: possibly a second copy, QoS 1 is at least once)');
});
