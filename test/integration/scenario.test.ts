// The offline scenario as a learner runs it: the real entry, real packets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packetLines, runCli } from '../support/cli';
import { needsMosquitto } from '../support/mosquitto';

async function offline(engine: string) {
  const run = await runCli('scenario', ['offline', '--engine', engine]).done;
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  return run.stdout;
}

function verdicts(stdout: string): string[] {
  return stdout.split('\n').filter((l) => /^(=>|   QoS)/.test(l));
}

const EXPECTED = [
  '=> clean=false: CONNACK sessionPresent=true',
  '   QoS 0 message: gone',
  '   QoS 1 message: delivered (queued while offline)',
  '   QoS 2 message: delivered (queued while offline)',
  '=> clean=true: CONNACK sessionPresent=false',
  '   QoS 0 message: gone',
  '   QoS 1 message: gone',
  '   QoS 2 message: gone',
];

test('scenario offline (aedes): clean=false keeps the queue for QoS 1 and 2, clean=true keeps nothing', async () => {
  const stdout = await offline('aedes');
  assert.deepEqual(verdicts(stdout), EXPECTED);
  // The lines are packets: the broker's CONNACK to the returning persistent subscriber, as its tap saw it.
  assert.match(stdout, /^ {2}broker {5}\| broker -> scenario-sub-clean-false: connack$/m);
  assert.ok(packetLines(stdout.replace(/^ {2}\w+ +\| /gm, '')).includes('receive: connack'));
});

test('scenario offline (mosquitto): the same session rules on a second broker', needsMosquitto, async () => {
  assert.deepEqual(verdicts(await offline('mosquitto')), EXPECTED);
});
