// Ctrl-C, for real (SIGINT to the spawned process): the tools finish the
// handshake in flight, send DISCONNECT and exit 130; the broker closes its
// clients and exits 0. The witness between each tool and the broker holds the
// printed lines against the wire.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { performance } from 'node:perf_hooks';
import { EXIT } from '../../src/cli/errors';
import { packetLines, runCli, type Run } from '../support/cli';
import { needsMosquitto } from '../support/mosquitto';
import { assertToolMatchesWire, witness } from '../support/witness';
import { testBroker } from '../support/broker';

/** `npm run broker` in its own process (so the test can freeze it with SIGSTOP); resolves with its URL. */
async function brokerProcess(t: TestContext, args: string[] = []): Promise<{ run: Run; url: string }> {
  const run = runCli('broker', ['--port', '0', ...args], { t });
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
  const wire = await witness(t, broker.url);
  const pub = runCli('publish', ['--broker', wire.url, '--qos', '1', '--count', '2', '--interval', '1500', '--verbose'], { t });
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
  await wire.settled();
  assertToolMatchesWire(done.stdout, wire, /^mqtt-qos-lab-pub-/, { verbose: true });
});

test('publisher: Ctrl-C while the broker has not answered CONNECT exits 130 without an error line', async (t) => {
  const broker = await brokerProcess(t);
  const wire = await witness(t, broker.url);
  broker.run.child.kill('SIGSTOP');
  const pub = runCli('publish', ['--broker', wire.url, '--client-id', 'frozen-pub'], { t });
  await pub.waitFor(/^send: connect/m);
  pub.child.kill('SIGINT');
  const done = await pub.done;
  assert.equal(done.code, EXIT.interrupted);
  assert.equal(done.stderr, '');
  // The frozen broker never closes its side; the client's is enough: its CONNECT crossed, nothing came back.
  await wire.settled(3000, 'client');
  assertToolMatchesWire(done.stdout, wire, 'frozen-pub');
});

test('subscriber: Ctrl-C while waiting sends DISCONNECT and exits 130', async (t) => {
  const broker = await brokerProcess(t);
  const wire = await witness(t, broker.url);
  const sub = runCli('subscribe', ['--broker', wire.url, '--qos', '2', '-v'], { t });
  await sub.waitFor(/^subscribed to/m);
  sub.child.kill('SIGINT');
  const done = await sub.done;
  assert.equal(done.code, EXIT.interrupted, done.stderr);
  assert.equal(done.stderr, '');
  assert.equal(packetLines(done.stdout).at(-1), 'send: disconnect');
  await broker.run.waitFor(/-> broker: disconnect/);
  await wire.settled();
  assertToolMatchesWire(done.stdout, wire, /^mqtt-qos-lab-sub-/, { verbose: true });
});

test('subscriber with --timeout 30: Ctrl-C ends it at once, its --timeout timer does not hold the process', async (t) => {
  const broker = await testBroker(t);
  const sub = runCli('subscribe', ['--broker', broker.url, '--qos', '1', '--timeout', '30'], { t });
  await sub.waitFor(/^subscribed to/m);
  const signalled = performance.now();
  sub.child.kill('SIGINT');
  const done = await sub.done;
  assert.equal(done.code, EXIT.interrupted, done.stderr);
  // The stop bound is 2 s; before, the process lived on until --timeout ran out.
  assert.ok(performance.now() - signalled < 5000, `exited ${Math.round(performance.now() - signalled)} ms after SIGINT`);
});

test('publisher between messages (--interval 30000): Ctrl-C ends it at once, no further message, its interval timer does not hold the process', async (t) => {
  const broker = await testBroker(t);
  const pub = runCli('publish', ['--broker', broker.url, '--qos', '1', '--count', '5', '--interval', '30000'], { t });
  await pub.waitFor(/^receive: puback/m);
  const signalled = performance.now();
  pub.child.kill('SIGINT');
  const done = await pub.done;
  assert.equal(done.code, EXIT.interrupted, done.stderr);
  assert.ok(performance.now() - signalled < 5000, `exited ${Math.round(performance.now() - signalled)} ms after SIGINT`);
  assert.equal(packetLines(done.stdout).filter((l) => l === 'send: publish').length, 1);
});

for (const engine of ['aedes', 'mosquitto'] as const) {
  test(`npm run broker (${engine}): Ctrl-C closes its clients and exits 130 (what npm run broker's shell sees too)`, engine === 'mosquitto' ? needsMosquitto : {}, async (t) => {
    const broker = await brokerProcess(t, ['--engine', engine]);
    const wire = await witness(t, broker.url);
    const sub = runCli('subscribe', ['--broker', wire.url], { t });
    await sub.waitFor(/^subscribed to/m);
    broker.run.child.kill('SIGINT');
    const stopped = await broker.run.done;
    assert.equal(stopped.code, EXIT.interrupted, stopped.stderr);
    assert.equal(stopped.stderr, '');
    assert.match(stopped.stdout, /broker stopped\n$/);
    // The same packet view for both engines: aedes's own sockets, or the tap proxy in front of mosquitto.
    assert.match(stopped.stdout, /^mqtt-qos-lab-sub-\w+ -> broker: subscribe$/m);
    assert.match(stopped.stdout, /^broker -> mqtt-qos-lab-sub-\w+: suback$/m);
    const dropped = await sub.done;
    assert.equal(dropped.code, EXIT.protocol);
    assert.match(dropped.stderr, /^Error: the broker at \S+ closed the connection\n$/);
    await wire.settled();
    assert.equal(wire.connections[0]?.closedBy, 'broker');
    assertToolMatchesWire(dropped.stdout, wire, /^mqtt-qos-lab-sub-/);
  });
}
