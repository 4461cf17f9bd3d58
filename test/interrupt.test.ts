// Ctrl-C, for real (SIGINT to the spawned process): the tools finish the
// handshake in flight, send DISCONNECT and exit 130; the broker closes its
// clients and exits 0.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { EXIT } from '../src/cli/errors';
import { packetLines, runCli, type Run } from './support/cli';
import { needsMosquitto } from './support/mosquitto';

/** `npm run broker` in its own process (so the test can freeze it with SIGSTOP); resolves with its URL. */
async function brokerProcess(t: TestContext, args: string[] = []): Promise<{ run: Run; url: string }> {
  const run = runCli('broker', ['--port', '0', ...args]);
  t.after(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGCONT');
      run.child.kill('SIGINT');
    }
    await run.done;
  });
  const out = await run.waitFor(/listening on \S+;/);
  return { run, url: /listening on (\S+);/.exec(out)![1]! };
}

test('publisher: Ctrl-C with a QoS 1 handshake in flight reports it, finishes it, sends DISCONNECT, exits 130', async (t) => {
  const broker = await brokerProcess(t);
  const pub = runCli('publish', ['--broker', broker.url, '--qos', '1', '--count', '2', '--interval', '1500', '--verbose']);
  await pub.waitFor(/^receive: puback/m);
  // Freeze the broker between the two messages: the second PUBLISH then waits for its PUBACK.
  broker.run.child.kill('SIGSTOP');
  await pub.waitFor(/^send: publish[^\n]*\n[^]*^send: publish/m);
  pub.child.kill('SIGINT');
  await pub.waitFor(/^interrupted: finishing 1 handshake\(s\) in flight for at most 2 s, then disconnecting/m);
  broker.run.child.kill('SIGCONT');
  const done = await pub.done;
  assert.equal(done.code, EXIT.interrupted, done.stderr);
  assert.equal(done.stderr, '');
  assert.deepEqual(packetLines(done.stdout), ['send: connect', 'receive: connack', 'send: publish', 'receive: puback', 'send: publish', 'receive: puback', 'send: disconnect']);
});

test('publisher: Ctrl-C while the broker has not answered CONNECT exits 130 without an error line', async (t) => {
  const broker = await brokerProcess(t);
  broker.run.child.kill('SIGSTOP');
  const pub = runCli('publish', ['--broker', broker.url]);
  await pub.waitFor(/^send: connect/m);
  pub.child.kill('SIGINT');
  const done = await pub.done;
  assert.equal(done.code, EXIT.interrupted);
  assert.equal(done.stderr, '');
});

test('subscriber: Ctrl-C while waiting sends DISCONNECT and exits 130', async (t) => {
  const broker = await brokerProcess(t);
  const sub = runCli('subscribe', ['--broker', broker.url, '--qos', '2']);
  await sub.waitFor(/^subscribed to/m);
  sub.child.kill('SIGINT');
  const done = await sub.done;
  assert.equal(done.code, EXIT.interrupted, done.stderr);
  assert.equal(done.stderr, '');
  assert.equal(packetLines(done.stdout).at(-1), 'send: disconnect');
  await broker.run.waitFor(/-> broker: disconnect/);
});

for (const engine of ['aedes', 'mosquitto'] as const) {
  test(`npm run broker (${engine}): Ctrl-C closes its clients and exits 0`, engine === 'mosquitto' ? needsMosquitto : {}, async (t) => {
    const broker = await brokerProcess(t, ['--engine', engine]);
    const sub = runCli('subscribe', ['--broker', broker.url]);
    await sub.waitFor(/^subscribed to/m);
    broker.run.child.kill('SIGINT');
    const stopped = await broker.run.done;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stderr, '');
    assert.match(stopped.stdout, /broker stopped\n$/);
    // The same packet view for both engines: aedes's own sockets, or the tap proxy in front of mosquitto.
    assert.match(stopped.stdout, /^mqtt-qos-lab-sub-\w+ -> broker: subscribe$/m);
    assert.match(stopped.stdout, /^broker -> mqtt-qos-lab-sub-\w+: suback$/m);
    const dropped = await sub.done;
    assert.equal(dropped.code, EXIT.protocol);
    assert.match(dropped.stderr, /^Error: the broker at \S+ closed the connection\n$/);
  });
}
