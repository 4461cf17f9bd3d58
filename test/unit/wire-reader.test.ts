// The one packet reader (framer + mqtt-packet + protocol-version rule + client id), without sockets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { connectionReader } from '../../src/wire/reader';

const bytes = (packet: Parameters<typeof mqttPacket.generate>[0], protocolVersion?: number) =>
  mqttPacket.generate(packet, protocolVersion ? { protocolVersion } : undefined);

test('reader: the client id and MQTT 5 come from CONNECT, so the broker side parses CONNACK properties', () => {
  const reader = connectionReader();
  assert.equal(reader.clientId(), '?');
  const connect = bytes({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'c1', clean: true, keepalive: 0 });
  // Split mid-packet: the framer waits for the whole frame.
  assert.deepEqual(reader.receive(connect.subarray(0, 3)).reads, []);
  const [read] = reader.receive(connect.subarray(3)).reads;
  assert.equal(read?.packet?.cmd, 'connect');
  assert.equal(reader.clientId(), 'c1');
  const connack = bytes({ cmd: 'connack', returnCode: 0, sessionPresent: false, reasonCode: 0, properties: { receiveMaximum: 7 } }, 5);
  const [ack] = reader.send(connack).reads;
  assert.deepEqual(ack?.packet?.cmd === 'connack' && ack.packet.properties, { receiveMaximum: 7 });
});

test('reader: a packet before a malformed length is still read; the malformed bytes and all after come back unread', () => {
  const reader = connectionReader();
  const connack = bytes({ cmd: 'connack', returnCode: 0, sessionPresent: false });
  const bad = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]);
  const first = reader.send(Buffer.concat([connack, bad]));
  assert.deepEqual(first.reads.map((r) => r.packet?.cmd), ['connack']);
  assert.deepEqual(first.unread, bad);
  const later = reader.send(connack);
  assert.deepEqual(later, { reads: [], unread: connack });
});
