// The protocol layer says what happened (a kind, the facts) without naming a flag;
// cli/ adds the exit code and the hint, and the printed line stays as it was.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import test from 'node:test';
import { errorLine, EXIT, exitCodeOf } from '../../src/cli/errors';
import { connect } from '../../src/mqtt/connection';
import { MqttError } from '../../src/mqtt/errors';
import { parsePublish } from '../../src/cli/options';

// The hints name only flags the command has, which its parser declares when it runs: as in a real run.
parsePublish([], {});

test('a refused TCP connection: kind unreachable, no flag in the protocol words; cli/ adds the hint and EXIT.connect', async () => {
  // A port that was ours a moment ago and is closed now: nothing listens there.
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  const url = `mqtt://127.0.0.1:${port}`;
  const error = await connect({ url, clientId: 'errors-test', clean: true, protocol: 4, connectTimeoutMs: 2_000 }, () => undefined).then(
    () => assert.fail('connected to a closed port'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof MqttError);
  assert.equal(error.kind, 'unreachable');
  assert.equal(error.remedy, 'start-broker');
  assert.equal(error.message, `cannot reach the broker at ${url}: connection refused`);
  assert.equal(errorLine(error, 'publish-with-qos'), `Error: cannot reach the broker at ${url}: connection refused; start one with 'npm run broker', or point --broker at a running broker`);
  assert.equal(exitCodeOf(error), EXIT.connect);
});

test('an acknowledgement wait that ran out keeps its wait as a fact; cli/ names --ack-timeout', () => {
  const error = new MqttError('timeout', 'no PUBACK for message 1 of 1 within 2 s', 'longer-ack-wait', 2_000).adding(' (kept)');
  assert.equal(errorLine(error, 'publish-with-qos'), 'Error: no PUBACK for message 1 of 1 within 2 s (kept) (--ack-timeout 2)');
  assert.equal(exitCodeOf(error), EXIT.timeout);
  assert.equal(exitCodeOf(new MqttError('violation', 'x')), EXIT.violation);
  assert.equal(exitCodeOf(new MqttError('lost', 'x')), EXIT.protocol);
  assert.equal(exitCodeOf(new MqttError('refused', 'x')), EXIT.refused);
});
