// MQTT 5 against mosquitto: the reason codes a broker sends back, shown by
// name on the packet line (without --verbose too) and in the one error line;
// each run goes through the witness, so each line is held against the wire.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXIT } from '../../src/cli/errors';
import { formatPacket, packetReason } from '../../src/mqtt/format';
import type { Packet } from '../../src/mqtt/packet-event';
import { packetLines, runCli } from '../support/cli';
import { needsMosquitto, testMosquitto } from '../support/mosquitto';
import { assertToolMatchesWire, witness } from '../support/witness';

const V5 = ['--protocol', '5'];

function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, stderr);
  return lines[0]!;
}

test('mosquitto, MQTT 5: a wrong password gets CONNACK 0x87 not authorized, exit 3', needsMosquitto, async (t) => {
  const broker = await witness(t, (await testMosquitto(t, { credentials: { username: 'alice', password: 'right-pw-5' } })).url);
  const run = await runCli('publish', ['--broker', broker.url, ...V5, '--username', 'alice', '--password', 'wrong-pw-5', '--client-id', 'v5-wrong']).done;
  assert.deepEqual(run.stdout.split('\n').filter(Boolean), ['send: connect', 'receive: connack  0x87 not authorized']);
  assert.match(errorLine(run.stderr), /refused the connection: 0x87 not authorized$/);
  assert.equal(run.code, EXIT.refused);
  await broker.settled();
  assertToolMatchesWire(run.stdout, broker, 'v5-wrong');
  assert.equal(broker.packets().find((p) => p.cmd === 'connack')?.reasonCode, 0x87);
});

test('mosquitto, MQTT 5: the right password is accepted (hashed password_file written by the launcher)', needsMosquitto, async (t) => {
  const broker = await witness(t, (await testMosquitto(t, { credentials: { username: 'alice', password: 'right-pw-5' } })).url);
  const run = await runCli('publish', ['--broker', broker.url, ...V5, '--username', 'alice', '--password', 'right-pw-5', '--qos', '2', '--client-id', 'v5-q2']).done;
  assert.equal(run.code, 0, run.stderr);
  // Success codes add nothing to a line.
  assert.deepEqual(run.stdout.split('\n').filter(Boolean), ['send: connect', 'receive: connack', 'send: publish', 'receive: pubrec', 'send: pubrel', 'receive: pubcomp', 'send: disconnect']);
  // mosquitto's PUBACK says when nobody subscribed (0x10); it is not an error, the exit is 0.
  const q1 = await runCli('publish', ['--broker', broker.url, ...V5, '--username', 'alice', '--password', 'right-pw-5', '--qos', '1', '--client-id', 'v5-q1']).done;
  assert.equal(q1.code, 0, q1.stderr);
  assert.match(q1.stdout, /^receive: puback {2}0x10 no matching subscribers$/m);
  await broker.settled();
  assertToolMatchesWire(run.stdout, broker, 'v5-q2');
  assertToolMatchesWire(q1.stdout, broker, 'v5-q1');
});

for (const [qos, ack] of [
  ['1', 'puback'],
  ['2', 'pubrec'],
] as const) {
  test(`mosquitto, MQTT 5: a publish the ACL forbids gets ${ack.toUpperCase()} 0x87 not authorized, exit 5`, needsMosquitto, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mqtt-qos-lab-acl-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'acl'), 'topic read secret/#\n');
    const locked = await testMosquitto(t, { config: [`acl_file ${join(dir, 'acl')}`] });
    const wire = await witness(t, locked.url);
    const run = await runCli('publish', ['--broker', wire.url, ...V5, '--qos', qos, '--topic', 'secret/plans', '--client-id', `v5-acl-${qos}`]).done;
    // The refusal ends the flow; nothing is left in flight, so the tool still says goodbye.
    assert.deepEqual(packetLines(run.stdout), ['send: connect', 'receive: connack', 'send: publish', `receive: ${ack}`, 'send: disconnect']);
    assert.match(run.stdout, new RegExp(`^receive: ${ack} {2}0x87 not authorized$`, 'm'));
    assert.match(errorLine(run.stderr), /the broker did not accept message 1 of 1: 0x87 not authorized$/);
    assert.equal(run.code, EXIT.protocol);
    await wire.settled();
    assertToolMatchesWire(run.stdout, wire, `v5-acl-${qos}`);
  });
}

test('mosquitto with max_qos 1, MQTT 5: SUBACK grants 1 for 2; a QoS 2 PUBLISH gets DISCONNECT 0x9B QoS not supported', needsMosquitto, async (t) => {
  const broker = await witness(t, (await testMosquitto(t, { config: ['max_qos 1'] })).url);
  const sub = await runCli('subscribe', ['--broker', broker.url, ...V5, '--qos', '2', '--timeout', '0.2', '--verbose', '--client-id', 'v5-max-sub']).done;
  assert.match(sub.stdout, /^receive: connack {2}sessionPresent=false code=0x00 \(success\) receive-maximum=20 maximum-qos=1 topic-alias-maximum=10$/m);
  assert.match(sub.stdout, /^receive: suback {2}id=\d+ granted=1$/m);
  assert.match(sub.stdout, /asked for QoS 2, broker granted QoS 1/);

  const pub = await runCli('publish', ['--broker', broker.url, ...V5, '--qos', '2', '--client-id', 'v5-max-pub', '-v']).done;
  assert.deepEqual(packetLines(pub.stdout), ['send: connect', 'receive: connack', 'send: publish', 'receive: disconnect']);
  assert.match(pub.stdout, /^receive: disconnect {2}reason=0x9b \(QoS not supported\)$/m);
  assert.match(errorLine(pub.stderr), /disconnected us: 0x9b QoS not supported during message 1 of 1$/);
  assert.equal(pub.code, EXIT.protocol);
  await broker.settled();
  // -v shows SUBSCRIBE qos=2 as it was sent (the line is printed before SUBACK), then SUBACK granted=1.
  assertToolMatchesWire(sub.stdout, broker, 'v5-max-sub', { verbose: true });
  assertToolMatchesWire(pub.stdout, broker, 'v5-max-pub', { verbose: true });
});

// mosquitto 2.0.11's acl_file does not refuse subscriptions (it filters at delivery), so SUBACK
// and PUBCOMP refusals are checked on the formatter alone, with packets as mqtt-packet parses them.
test('reason codes by name on SUBACK, PUBCOMP and a 3.1.1 CONNACK, with and without --verbose', () => {
  const plain = { verbose: false, color: false };
  const verbose = { verbose: true, color: false };
  const suback = { cmd: 'suback', messageId: 7, granted: [1, 0x87] } as unknown as Packet;
  const pubcomp = { cmd: 'pubcomp', messageId: 9, reasonCode: 0x92 } as unknown as Packet;
  const connack = { cmd: 'connack', sessionPresent: false, returnCode: 4 } as unknown as Packet;
  assert.equal(formatPacket({ at: 0, direction: 'receive', packet: suback }, plain), 'receive: suback  0x87 not authorized');
  assert.equal(formatPacket({ at: 0, direction: 'receive', packet: suback }, verbose), 'receive: suback  id=7 granted=1,0x87 (not authorized)');
  assert.equal(formatPacket({ at: 0, direction: 'receive', packet: pubcomp }, plain), 'receive: pubcomp  0x92 packet identifier not found');
  assert.equal(formatPacket({ at: 0, direction: 'receive', packet: pubcomp }, verbose), 'receive: pubcomp  id=9 reason=0x92 (packet identifier not found)');
  assert.equal(packetReason(connack), 'code 4 bad user name or password');
  assert.equal(packetReason({ cmd: 'puback', messageId: 1, reasonCode: 0 } as unknown as Packet), null);
});
