// The tools as a user meets them: help, bad input, no broker, and the lesson's
// exact command (ts-node) and the compiled bin.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXIT } from '../../src/cli/errors';
import { freePort } from '../../src/broker/mosquitto';
import { ROOT, packetLines, runCli } from '../support/cli';
import { testBroker } from '../support/broker';
import { startBroker } from '../../src/broker/embedded';
import { needsMosquitto } from '../support/mosquitto';
import { assertToolMatchesWire, witness } from '../support/witness';

for (const entry of ['publish', 'subscribe'] as const) {
  test(`${entry} --help exits 0 with empty stderr`, async () => {
    const run = await runCli(entry, ['--help']).done;
    assert.equal(run.code, 0);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, /--qos/);
  });
}

test('a bad option is one Error line with a --help hint and exit code 1', async () => {
  const run = await runCli('publish', ['--qos=3']).done;
  assert.equal(run.code, 1);
  // The hint names the command as it was started (runCli: node --import tsx src/publish.ts).
  assert.equal(run.stderr, "Error: --qos must be 0, 1 or 2, got '3' (see 'node --import tsx src/publish.ts --help')\n");
  assert.equal(run.stdout, '');
});

test('waitForStderr sees the error line, and a pattern that never comes fails when the process exits instead of hanging', async (t) => {
  const run = runCli('publish', ['--qos=3'], { t });
  assert.match(await run.waitForStderr(/^Error: /m), /--qos must be 0, 1 or 2/);
  await assert.rejects(run.waitForStderr(/never printed/), /publish exited \(1\) before stderr matched/);
});

test("the other tool's flag is an error, not ignored", async () => {
  const run = await runCli('subscribe', ['--retain']).done;
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^Error: Unknown argument: retain: a flag of the publisher \(the RETAIN flag\), not of this tool \(see 'node --import tsx src\/subscribe.ts --help'\)\n$/);
});

test('no broker listening: one line naming the URL and the fix, exit 2, no retry loop', async () => {
  const port = await freePort();
  const run = await runCli('publish', ['--broker', `mqtt://127.0.0.1:${port}`, '--qos=1']).done;
  assert.equal(run.code, 2);
  assert.equal(
    run.stderr,
    `Error: cannot reach the broker at mqtt://127.0.0.1:${port}: connection refused; start one with 'npm run broker', or point --broker at a running broker\n`,
  );
});

test('a subscription the broker refuses (SUBACK 0x80) is one line naming the topic, exit 5', async (t) => {
  const broker = await startBroker({ port: 0, refuse: (filter) => filter.startsWith('secret/') });
  t.after(() => broker.close());
  const wire = await witness(t, broker.url);
  const run = await runCli('subscribe', ['--broker', wire.url, '--topic', 'secret/plans', '--qos', '1', '--client-id', 'refused', '--clean']).done;
  assert.equal(run.code, 5);
  assert.equal(run.stderr, "Error: the broker refused the subscription to 'secret/plans': 0x80 unspecified error\n");
  assert.deepEqual(packetLines(run.stdout).slice(-2), ['receive: suback', 'send: disconnect']);
  await wire.settled();
  assertToolMatchesWire(run.stdout, wire, 'refused');
  assert.deepEqual(wire.packets().find((p) => p.cmd === 'suback')?.granted, [0x80]);
});

test('subscribe --timeout ends with exit code 4 when nothing arrives', async (t) => {
  const wire = await witness(t, (await testBroker(t)).url);
  const run = await runCli('subscribe', ['--broker', wire.url, '--timeout', '0.5', '--client-id', 'idle', '--clean', '-v']).done;
  assert.equal(run.code, 4);
  assert.equal(run.stderr, 'Error: timed out: no message arrived within 0.5 s\n');
  assert.deepEqual(packetLines(run.stdout).at(-1), 'send: disconnect');
  await wire.settled();
  assertToolMatchesWire(run.stdout, wire, 'idle', { verbose: true });
});

test('--log=stderr leaves stdout to payloads, so a pipe gets the message alone', async (t) => {
  const broker = await witness(t, (await testBroker(t)).url);
  const sub = runCli('subscribe', ['--broker', broker.url, '--count', '1', '--log', 'stderr', '--client-id', 'pipe', '--clean'], { t });
  // The packet log is on stderr now; wait for the SUBACK there.
  await sub.waitForStderr(/^subscribed to/m);
  const pub = await runCli('publish', ['--broker', broker.url, '--message', '{"n":1}', '--client-id', 'pipe-pub'], { t }).done;
  const got = await sub.done;
  assert.equal(got.code, 0);
  assert.equal(got.stdout, '{"n":1}\n');
  assert.match(got.stderr, /receive: publish/);
  await broker.settled();
  assertToolMatchesWire(got.stderr, broker, 'pipe');
  assertToolMatchesWire(pub.stdout, broker, 'pipe-pub');
});

/** Spawns a command in the project folder and waits for it. */
async function exec(command: string, args: string[]) {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = await once(child, 'close');
  return { code, stdout, stderr };
}

test('the lesson command `npx ts-node src/publish.ts --qos=1` works as written', async (t) => {
  const broker = await witness(t, (await testBroker(t)).url);
  const run = await exec('npx', ['ts-node', 'src/publish.ts', '--qos=1', '--broker', broker.url, '--client-id', 'lesson']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(packetLines(run.stdout), ['send: connect', 'receive: connack', 'send: publish', 'receive: puback', 'send: disconnect']);
  await broker.settled();
  assertToolMatchesWire(run.stdout, broker, 'lesson');
});

test('the compiled bin dist/publish.js runs the same flow', async (t) => {
  const broker = await witness(t, (await testBroker(t)).url);
  const run = await exec(process.execPath, [join(ROOT, 'dist', 'publish.js'), '--qos=2', '-v', '--broker', broker.url, '--client-id', 'bin']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(packetLines(run.stdout), ['send: connect', 'receive: connack', 'send: publish', 'receive: pubrec', 'send: pubrel', 'receive: pubcomp', 'send: disconnect']);
  await broker.settled();
  assertToolMatchesWire(run.stdout, broker, 'bin', { verbose: true });
});

test('npm run broker -- --engine mosquitto --quiet listens on the --port given', needsMosquitto, async (t) => {
  const port = await freePort();
  const broker = runCli('broker', ['--engine', 'mosquitto', '--quiet', '--port', String(port)], { t });
  await broker.waitFor(new RegExp(`listening on mqtt://127\\.0\\.0\\.1:${port};`));
  const wire = await witness(t, { host: '127.0.0.1', port });
  const pub = await runCli('publish', ['--broker', `127.0.0.1:${wire.port}`, '--qos', '1', '--client-id', 'quiet-pub'], { t }).done;
  assert.equal(pub.code, 0, pub.stderr);
  await wire.settled();
  assertToolMatchesWire(pub.stdout, wire, 'quiet-pub');
  broker.child.kill('SIGINT');
  assert.equal((await broker.done).code, EXIT.interrupted);
});
