// The two tools against a broker that misbehaves on purpose (test/support/hostile-broker.ts),
// in-process through main(argv, io): each case ends within a bound, with the documented
// exit code, exactly one `Error:` line, and words that say what the broker did.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT, type ExitCode } from '../../src/cli/errors';
import { HOSTILE, hostileBroker, type HostileOptions } from '../support/hostile-broker';
import { assertOneError, run } from '../support/in-process';

// Short bounds, so each case shows the rule quickly; client ids per case so nothing is shared.
const FAST = ['--ack-timeout', '0.4', '--clean'];
const withFast = (args: string[]) => (args.includes('--ack-timeout') ? ['--clean', ...args] : [...FAST, ...args]);

interface Case {
  name: string;
  hostile: HostileOptions;
  tool: 'publish' | 'subscribe';
  args: string[];
  code: ExitCode;
  words: RegExp;
  withinMs: number;
}

const CASES: Case[] = [
  // The connection itself.
  { name: 'publish: no CONNACK', hostile: HOSTILE.neverConnack, tool: 'publish', args: [], code: EXIT.timeout, words: /accepted the connection but sent no CONNACK within 0\.4 s/, withinMs: 3000 },
  { name: 'subscribe: no CONNACK, --timeout covers it', hostile: HOSTILE.neverConnack, tool: 'subscribe', args: ['--ack-timeout', '10', '--timeout', '0.5'], code: EXIT.timeout, words: /sent no CONNACK within 0\.5 s/, withinMs: 3000 },
  { name: 'subscribe: no CONNACK', hostile: HOSTILE.neverConnack, tool: 'subscribe', args: [], code: EXIT.timeout, words: /sent no CONNACK within 0\.4 s/, withinMs: 3000 },
  // Acknowledgements that never come.
  { name: 'publish QoS 1: no PUBACK', hostile: HOSTILE.neverAck, tool: 'publish', args: ['-q', '1'], code: EXIT.timeout, words: /no PUBACK for message 1 of 1 \(id=\d+\) within 0\.4 s: at QoS 1 .*DUP=1/, withinMs: 3000 },
  { name: 'publish QoS 2: no PUBREC', hostile: HOSTILE.neverAck, tool: 'publish', args: ['-q', '2'], code: EXIT.timeout, words: /no PUBREC for message 1 of 1 .* within 0\.4 s: at QoS 2/, withinMs: 3000 },
  { name: 'publish QoS 2: no PUBCOMP', hostile: HOSTILE.neverPubcomp, tool: 'publish', args: ['-q', '2'], code: EXIT.timeout, words: /no PUBCOMP for message 1 of 1 .*PUBREC came, so the broker has the message/, withinMs: 3000 },
  { name: 'publish QoS 1 x3: no PUBACK for the first', hostile: HOSTILE.neverAck, tool: 'publish', args: ['-q', '1', '--repeat', '3', '--interval', '0'], code: EXIT.timeout, words: /no PUBACK for message 1 of 3/, withinMs: 3000 },
  { name: 'subscribe: no SUBACK (--ack-timeout)', hostile: HOSTILE.neverSuback, tool: 'subscribe', args: ['-q', '1'], code: EXIT.timeout, words: /no SUBACK for our SUBSCRIBE to 'home\/sample_topic' within 0\.4 s/, withinMs: 3000 },
  { name: 'subscribe: no SUBACK (--timeout)', hostile: HOSTILE.neverSuback, tool: 'subscribe', args: ['--ack-timeout', '10', '--timeout', '0.6'], code: EXIT.timeout, words: /timed out: no SUBACK for our SUBSCRIBE .* within 0\.6 s/, withinMs: 3000 },
  { name: 'subscribe QoS 2: no SUBACK', hostile: HOSTILE.neverSuback, tool: 'subscribe', args: ['-q', '2'], code: EXIT.timeout, words: /no SUBACK/, withinMs: 3000 },
  // Acknowledgements that break the rules.
  { name: 'publish QoS 1: PUBACK for an id we never used', hostile: HOSTILE.ackUnknownId, tool: 'publish', args: ['-q', '1'], code: EXIT.violation, words: /broke an MQTT rule: it sent PUBACK id=\d+, but we have no PUBLISH with that id in flight .*\[MQTT-2\.3\.1-6\]/, withinMs: 3000 },
  { name: 'publish QoS 2: PUBREC for an id we never used', hostile: HOSTILE.ackUnknownId, tool: 'publish', args: ['-q', '2'], code: EXIT.violation, words: /sent PUBREC id=\d+, but we have no PUBLISH with that id .*\[MQTT-2\.3\.1-6\]/, withinMs: 3000 },
  { name: 'publish QoS 1: answered with PUBCOMP', hostile: HOSTILE.wrongAck, tool: 'publish', args: ['-q', '1'], code: EXIT.violation, words: /answered our QoS 1 PUBLISH id=\d+ with PUBCOMP where PUBACK was due .*\[MQTT-4\.3\.2-2\]/, withinMs: 3000 },
  { name: 'publish QoS 2: answered with PUBACK', hostile: HOSTILE.wrongAck, tool: 'publish', args: ['-q', '2'], code: EXIT.violation, words: /answered our QoS 2 PUBLISH id=\d+ with PUBACK where PUBREC was due .*\[MQTT-4\.3\.3-2\]/, withinMs: 3000 },
  { name: 'publish QoS 2 over MQTT 5: answered with PUBACK', hostile: HOSTILE.wrongAck, tool: 'publish', args: ['-q', '2', '-V', '5'], code: EXIT.violation, words: /with PUBACK where PUBREC was due/, withinMs: 3000 },
  // A broker that goes away or sends garbage.
  { name: 'publish QoS 1: closed right after CONNACK', hostile: HOSTILE.closeAfterConnack, tool: 'publish', args: ['-q', '1'], code: EXIT.protocol, words: /closed the connection/, withinMs: 3000 },
  { name: 'subscribe: closed right after CONNACK', hostile: HOSTILE.closeAfterConnack, tool: 'subscribe', args: [], code: EXIT.protocol, words: /closed the connection/, withinMs: 3000 },
  { name: 'publish QoS 1: malformed packet after CONNACK', hostile: HOSTILE.malformedAfterConnack, tool: 'publish', args: ['-q', '1'], code: EXIT.violation, words: /sent bytes that are not a valid MQTT packet .*\[MQTT-4\.8\.0-1\]/, withinMs: 3000 },
  { name: 'subscribe: malformed packet after CONNACK', hostile: HOSTILE.malformedAfterConnack, tool: 'subscribe', args: [], code: EXIT.violation, words: /not a valid MQTT packet/, withinMs: 3000 },
  { name: 'publish QoS 1: an endless packet after CONNACK', hostile: HOSTILE.oversizedAfterConnack, tool: 'publish', args: ['-q', '1'], code: EXIT.timeout, words: /no PUBACK for message 1 of 1/, withinMs: 3000 },
  { name: 'subscribe: an endless packet after CONNACK hides the SUBACK', hostile: HOSTILE.oversizedAfterConnack, tool: 'subscribe', args: [], code: EXIT.timeout, words: /no SUBACK/, withinMs: 3000 },
  // Keepalive: MQTT.js closes the stream itself; that is our timeout, not the broker hanging up.
  { name: 'subscribe: no PINGRESP', hostile: HOSTILE.noPingresp, tool: 'subscribe', args: ['--keepalive', '1'], code: EXIT.timeout, words: /no PINGRESP from the broker at .* within 0\.5 s of our PINGREQ \(keepalive 1 s\)/, withinMs: 4000 },
  { name: 'publish: no PINGRESP between messages', hostile: HOSTILE.noPingresp, tool: 'publish', args: ['--keepalive', '1', '--repeat', '2', '--interval', '2500'], code: EXIT.timeout, words: /no PINGRESP .* \(keepalive 1 s\)/, withinMs: 4000 },
];

for (const c of CASES) {
  test(`hostile broker, ${c.name}`, async (t) => {
    const broker = await hostileBroker(t, c.hostile);
    const o = await run(c.tool, ['--broker', broker.url, '-i', `hostile-${CASES.indexOf(c)}`, ...withFast(c.args)]);
    assertOneError(o, c.code, c.words, c.withinMs);
  });
}

// Where a misbehaviour is never reached, the tool succeeds: the rule is in the flow, not the broker's name.
const FINE: [name: string, hostile: HostileOptions, args: string[]][] = [
  ['publish QoS 0 needs no acknowledgement', HOSTILE.neverAck, ['-q', '0']],
  ['publish QoS 1 never meets a missing PUBCOMP', HOSTILE.neverPubcomp, ['-q', '1']],
  ['publish QoS 0: a wrong-ack broker has nothing to answer', HOSTILE.wrongAck, ['-q', '0']],
];
for (const [name, hostile, args] of FINE) {
  test(`hostile broker, ${name}`, async (t) => {
    const broker = await hostileBroker(t, hostile);
    const o = await run('publish', ['--broker', broker.url, ...FAST, ...args]);
    assert.equal(o.code, EXIT.ok, o.err);
    assert.doesNotMatch(o.err + o.out, /Error:/);
  });
}

test('a broken rule is shown after the packet that broke it, and nothing is printed as sent after the close', async (t) => {
  const broker = await hostileBroker(t, HOSTILE.wrongAck);
  const o = await run('publish', ['--broker', broker.url, ...FAST, '-q', '2', '--repeat', '3', '--interval', '0']);
  assert.equal(o.code, EXIT.violation);
  const lines = o.out.split('\n').filter((l) => /^(send|receive): /.test(l));
  assert.deepEqual(lines, ['send: connect', 'receive: connack', 'send: publish', 'receive: puback'], o.out);
});
