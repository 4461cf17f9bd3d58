// TLS (mqtts:// with --ca, --cert, --key; verification on unless --insecure)
// against a mosquitto TLS listener with certificates made here by openssl, and
// user name/password against the embedded broker. A password never shows.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EXIT } from '../../src/cli/errors';
import { makeCerts, type Certs } from '../support/certs';
import { packetLines, runCli } from '../support/cli';
import { HAVE_MOSQUITTO, needsMosquitto, testMosquitto } from '../support/mosquitto';

// One set of certificates for the whole file (made at load, removed after the last test).
const certs = HAVE_MOSQUITTO ? makeCerts({ after }) : undefined;
const material = (): Certs => certs ?? assert.fail('mosquitto is required (REQUIRE_MOSQUITTO=1) but not installed');
const tlsListener = (c: Certs, requireClientCert: boolean) => [`cafile ${c.ca}`, `certfile ${c.serverCert}`, `keyfile ${c.serverKey}`, `require_certificate ${requireClientCert}`];

function oneError(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, stderr);
  assert.doesNotMatch(stderr, /^ {4}at /m);
  return lines[0]!;
}

test('mqtts:// with --ca: verified, the QoS 1 flow runs over TLS', needsMosquitto, async (t) => {
  const c = material();
  const broker = await testMosquitto(t, { config: tlsListener(c, false) });
  const run = await runCli('publish', ['--broker', `mqtts://127.0.0.1:${broker.port}`, '--ca', c.ca, '--qos', '1']).done;
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(packetLines(run.stdout), ['send: connect', 'receive: connack', 'send: publish', 'receive: puback', 'send: disconnect']);
});

test('mqtts:// without --ca: verification is on by default, so an unknown CA is exit 2 with a way out', needsMosquitto, async (t) => {
  const c = material();
  const broker = await testMosquitto(t, { config: tlsListener(c, false) });
  const url = `mqtts://127.0.0.1:${broker.port}`;
  const refused = await runCli('publish', ['--broker', url]).done;
  assert.match(oneError(refused.stderr), /presented a TLS certificate we cannot trust \(self-signed certificate in certificate chain\); pass the CA that signed it with --ca, or --insecure/);
  assert.equal(refused.code, EXIT.connect);
  assert.doesNotMatch(refused.stdout, /receive:/, 'nothing came back over an unverified connection');

  const insecure = await runCli('publish', ['--broker', url, '--insecure']).done;
  assert.equal(insecure.code, 0, insecure.stderr);
});

test('a listener that requires a client certificate: --cert/--key get in, without them exit 2', needsMosquitto, async (t) => {
  const c = material();
  const broker = await testMosquitto(t, { config: tlsListener(c, true) });
  const url = `mqtts://127.0.0.1:${broker.port}`;
  const withCert = await runCli('subscribe', ['--broker', url, '--ca', c.ca, '--cert', c.clientCert, '--key', c.clientKey, '--timeout', '0.2']).done;
  assert.match(withCert.stdout, /^receive: suback$/m);
  assert.equal(withCert.code, EXIT.timeout, withCert.stderr);
  const without = await runCli('subscribe', ['--broker', url, '--ca', c.ca]).done;
  assert.match(oneError(without.stderr), /refused our TLS handshake \(alert: certificate required\): it wants a client certificate, pass --cert and --key$/);
  assert.equal(without.code, EXIT.connect);
});

test('mqtt:// to a TLS listener: exit 2, suggests mqtts://', needsMosquitto, async (t) => {
  const broker = await testMosquitto(t, { config: tlsListener(material(), false) });
  const run = await runCli('publish', ['--broker', `mqtt://127.0.0.1:${broker.port}`]).done;
  assert.match(oneError(run.stderr), /TLS (listener|port)[^]*mqtts:\/\//);
  assert.equal(run.code, EXIT.connect);
});

test('mosquitto password_file, MQTT 3.1.1: a wrong password is CONNACK code 5, exit 3', needsMosquitto, async (t) => {
  const broker = await testMosquitto(t, { credentials: { username: 'bob', password: 'pw-mosq-ok' } });
  const run = await runCli('subscribe', ['--broker', broker.url, '--username', 'bob', '--password', 'pw-mosq-bad']).done;
  assert.deepEqual(run.stdout.split('\n').filter(Boolean), ['send: connect', 'receive: connack  code 5 not authorized']);
  assert.match(oneError(run.stderr), /refused the connection: code 5 not authorized$/);
  assert.equal(run.code, EXIT.refused);
});

/** Starts `npm run broker` with args; resolves with its URL once it listens. */
async function brokerCli(t: { after(fn: () => Promise<unknown>): void }, args: string[]) {
  const broker = runCli('broker', ['--port', '0', ...args]);
  t.after(async () => {
    if (broker.child.exitCode === null) broker.child.kill('SIGINT');
    await broker.done;
  });
  const out = await broker.waitFor(/listening on \S+;/);
  return { run: broker, url: /listening on (\S+);/.exec(out)![1]! };
}

test('npm run broker -- --username U --password P: right password in, wrong one exit 3, no password in any output mode', async (t) => {
  const PASSWORD = 'Pa55-w0rd-xyz';
  const WRONG = 'Wr0ng-pa55-abc';
  const broker = await brokerCli(t, ['--username', 'carol', '--password', PASSWORD, '--verbose']);
  const login = ['--broker', broker.url, '--username', 'carol'];
  const outputs: string[] = [];
  const keep = <R extends { stdout: string; stderr: string }>(r: R): R => {
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  const dir = mkdtempSync(join(tmpdir(), 'auth-trace-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const traces = [join(dir, 'sub.jsonl'), join(dir, 'pub.jsonl')];
  const sub = runCli('subscribe', [...login, '--password', PASSWORD, '--count', '5', '--timeout', '20', '--topic', 'auth/t', '--verbose', '--trace', traces[0]!], { t });
  await sub.waitFor(/^subscribed to/m);
  for (const extra of [[], ['--verbose'], ['--log', 'stderr'], ['--verbose', '--log', 'stderr'], ['--trace', traces[1]!]]) {
    const pub = keep(await runCli('publish', [...login, '--password', PASSWORD, '--topic', 'auth/t', ...extra]).done);
    assert.equal(pub.stdout.includes('send: publish') || pub.stderr.includes('send: publish'), true, pub.stderr);
  }
  const got = keep(await sub.done);
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stdout, /^send: connect {2}client-id=\S+ clean=false protocol=3.1.1 keepalive=60 username=carol password=<hidden>$/m);
  const logToStderr = keep(await runCli('subscribe', [...login, '--password', PASSWORD, '--verbose', '--log', 'stderr', '--timeout', '0.2']).done);
  assert.match(logToStderr.stderr, /password=<hidden>/);

  const wrong = keep(await runCli('publish', [...login, '--password', WRONG, '--verbose']).done);
  assert.match(oneError(wrong.stderr), /refused the connection: code 4 bad user name or password$/);
  assert.equal(wrong.code, EXIT.refused);
  // MQTT_PASSWORD from the environment takes the same path.
  const fromEnv = keep(await runCli('publish', ['--broker', broker.url, '--username', 'carol', '--verbose'], { env: { MQTT_PASSWORD: PASSWORD } }).done);
  assert.equal(fromEnv.code, 0, fromEnv.stderr);

  broker.run.child.kill('SIGINT');
  const stopped = keep(await broker.run.done);
  assert.equal(stopped.code, EXIT.interrupted, stopped.stderr);
  assert.match(stopped.stdout, /-> broker: connect {2}.*username=carol password=<hidden>$/m);
  // The JSON traces record the CONNECT too, without its password.
  for (const file of traces) {
    const trace = readFileSync(file, 'utf8');
    assert.match(trace, /"type":"connect"/);
    outputs.push(trace);
  }
  for (const text of outputs) {
    assert.ok(!text.includes(PASSWORD), `the password leaked:\n${text}`);
    assert.ok(!text.includes(WRONG), `the wrong password leaked:\n${text}`);
  }
});
