// scenario and chaos against a broker that misbehaves (test/support/hostile-broker.ts),
// in-process through each command's main() with injected streams and short bounds:
// every case ends within its bound, with one `Error:` line naming what the broker did
// not do, or a report that says what it did, and the documented exit code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT } from '../../src/cli/errors';
import { freePort } from '../../src/broker/mosquitto';
import { hostileBroker, HOSTILE } from '../support/hostile-broker';
import { against, CHAOS, oneError, run, within } from '../support/commands';

// --- scenario -------------------------------------------------------------

test('scenario, no CONNACK: exit 4 naming CONNACK', async (t) => {
  const o = await against(t, HOSTILE.neverConnack, 'scenario', []);
  oneError(o, EXIT.timeout, /the broker at mqtt:\/\/127\.0\.0\.1:\d+ accepted the connection but sent no CONNACK within 0\.4 s/);
  within(o, 3000);
});

test('scenario, no SUBACK: exit 4 naming SUBACK and the topic', async (t) => {
  const o = await against(t, HOSTILE.neverSuback, 'scenario', []);
  oneError(o, EXIT.timeout, /no SUBACK for our SUBSCRIBE to 'lab\/offline' within 0\.4 s/);
  within(o, 3000);
});

test('scenario, no PUBACK: exit 4 naming PUBACK and the message', async (t) => {
  const o = await against(t, HOSTILE.neverAck, 'scenario', []);
  oneError(o, EXIT.timeout, /no PUBACK from the broker at \S+ for the QoS 1 message 'QoS 1 message' within 0\.4 s/);
  // What was printed is what crossed: the tap in front of the broker saw the PUBLISH go in, and nothing came back.
  assert.match(o.out, /publisher +\| send: publish/);
  within(o, 4000);
});

test('scenario, PUBREC but never PUBCOMP: exit 4 naming PUBCOMP', async (t) => {
  const o = await against(t, HOSTILE.neverPubcomp, 'scenario', []);
  oneError(o, EXIT.timeout, /no PUBCOMP from the broker at \S+ for the QoS 2 message 'QoS 2 message'/);
  assert.match(o.out, /publisher +\| receive: pubrec/);
  within(o, 4000);
});

test('scenario, the broker closes right after CONNACK: exit 5, it closed the connection', async (t) => {
  const o = await against(t, HOSTILE.closeAfterConnack, 'scenario', []);
  oneError(o, EXIT.protocol, /closed the connection/);
  within(o, 3000);
});

test('scenario, a malformed packet after CONNACK: exit 6, a violation named as such', async (t) => {
  const o = await against(t, HOSTILE.malformedAfterConnack, 'scenario', []);
  oneError(o, EXIT.violation, /the broker at mqtt:\/\/127\.0\.0\.1:\d+ (sent a malformed packet|broke an MQTT rule: it sent bytes that are not a valid MQTT packet)/);
  within(o, 3000);
});

test('scenario, nothing listening at --broker: exit 2, the broker named', async () => {
  const port = await freePort();
  const o = await run('scenario', ['offline', '--broker', `mqtt://127.0.0.1:${port}`]);
  oneError(o, EXIT.connect, new RegExp(`cannot reach the broker at mqtt://127\\.0\\.0\\.1:${port}: connection refused`));
});

// --- chaos ----------------------------------------------------------------

test('chaos, no CONNACK: exit 4 naming CONNACK and the broker (not the proxy)', async (t) => {
  const broker = await hostileBroker(t, HOSTILE.neverConnack);
  const o = await run('chaos', ['--broker', broker.url, ...CHAOS, '--qos', '1']);
  oneError(o, EXIT.timeout, new RegExp(`the broker at ${broker.url.replace(/\./g, '\\.')} accepted the connection but sent no CONNACK within 0\\.4 s`));
  within(o, 3000);
});

test('chaos, no SUBACK: exit 4 naming SUBACK', async (t) => {
  const o = await against(t, HOSTILE.neverSuback, 'chaos', [...CHAOS, '--qos', '1']);
  oneError(o, EXIT.timeout, /no SUBACK for our SUBSCRIBE to 'chaos\/q1' within 0\.4 s/);
  within(o, 3000);
});

test('chaos, closes after every CONNACK: exit 5, and says how often the broker closed the connection', async (t) => {
  const o = await against(t, HOSTILE.closeAfterConnack, 'chaos', [...CHAOS, '--qos', '1']);
  oneError(o, EXIT.protocol, /closed the connection before its SUBACK for 'chaos\/q1': the broker closed the connection \d+ time\(s\)/);
  within(o, 3000);
});

test('chaos, malformed packets: exit 6, the malformed packets counted', async (t) => {
  const o = await against(t, HOSTILE.malformedAfterConnack, 'chaos', [...CHAOS, '--qos', '1']);
  oneError(o, EXIT.violation, /the broker at \S+ sent 1 malformed packet\(s\); the proxy cut each of those connections/);
  within(o, 3000);
});

test('chaos, never a PUBACK: the run stalls within its bound, the report says so, exit 4', async (t) => {
  const o = await against(t, HOSTILE.neverAck, 'chaos', [...CHAOS, '--qos', '1']);
  assert.equal(o.code, EXIT.timeout, o.err);
  assert.equal(o.err, '');
  // The window (20) went out, then nothing more: the tally counts what was published, not what was planned.
  assert.match(o.out, /QoS 1: sent 20, acked 0, received 0, lost 20/);
  assert.match(o.out, /STALLED: the publisher got no acknowledgement for 0\.8 s; 20 publish\(es\) never acknowledged, so the broker promised nothing for them$/m);
  within(o, 6000);
});

test('chaos, PUBREC but never PUBCOMP at QoS 2: stalls, reported, exit 4', async (t) => {
  const o = await against(t, HOSTILE.neverPubcomp, 'chaos', [...CHAOS, '--qos', '2']);
  assert.equal(o.code, EXIT.timeout, o.err);
  assert.match(o.out, /QoS 2: sent 20, acked 0, received 20, lost 0/);
  assert.match(o.out, /STALLED/);
  within(o, 6000);
});

test('chaos, no PINGRESP: a short run does not need one and keeps every promise, exit 0', async (t) => {
  const o = await against(t, HOSTILE.noPingresp, 'chaos', [...CHAOS, '--qos', '1,2']);
  assert.equal(o.code, EXIT.ok, o.err + o.out);
  assert.match(o.out, /QoS 1: sent 60, acked 60, received 60, lost 0/);
  assert.match(o.out, /QoS 2: sent 60, acked 60, received 60, lost 0/);
  within(o, 8000);
});

test('chaos, acknowledgements with ids never used: MQTT.js completes nothing, the run stalls, exit 4', async (t) => {
  const o = await against(t, HOSTILE.ackUnknownId, 'chaos', [...CHAOS, '--qos', '1']);
  assert.equal(o.code, EXIT.timeout, o.err);
  assert.match(o.out, /QoS 1: sent 20, acked 0, received 0, lost 20/);
  within(o, 6000);
});

test('scenario, a packet header announcing 268,435,455 bytes: bounded, exit 4', async (t) => {
  const o = await against(t, HOSTILE.oversizedAfterConnack, 'scenario', []);
  oneError(o, EXIT.timeout, /no SUBACK for our SUBSCRIBE to 'lab\/offline' within 0\.4 s/);
  within(o, 3000);
});

test('chaos --broker with --engine is a usage error', async () => {
  const o = await run('chaos', ['--broker', 'mqtt://127.0.0.1:1', '--engine', 'aedes']);
  oneError(o, EXIT.usage, /--engine and --broker exclude each other: --engine starts a broker, --broker names a running one/);
});

test('chaos, scenario and load --broker mqtts://: a usage error (a plain TCP proxy, no TLS options), before dialling', async () => {
  for (const [command, args] of [['chaos', []], ['scenario', ['offline']], ['load', []]] as const) {
    const o = await run(command, [...args, '--broker', 'mqtts://127.0.0.1:8883']);
    oneError(o, EXIT.usage, /--broker 'mqtts:\/\/127\.0\.0\.1:8883': this command speaks plain MQTT over TCP only \(mqtt:\/\/\)/);
  }
});
