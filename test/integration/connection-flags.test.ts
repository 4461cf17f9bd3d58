// The connection flags (src/cli/options/connection.ts) reach every command's
// clients: the lab, the bench, chaos and scenario log in to a broker that
// wants a password, and are refused (exit 3) with a wrong one.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, test, type TestContext } from 'node:test';
import { startBroker } from '../../src/broker/embedded';
import { EXIT } from '../../src/cli/errors';
import type { Io } from '../../src/cli/io';
import { settle } from '../../src/cli/main';
import { COMMANDS } from '../../src/cli/options/parse';

type Main = (argv: string[], io: Io) => Promise<number>;
import { main as bench } from '../../src/bin/bench';
import { main as chaos } from '../../src/bin/chaos';
import { main as lab } from '../../src/bin/lab';
import { main as scenario } from '../../src/bin/scenario';
import { main as publish } from '../../src/publish';
import { makeCerts, type Certs } from '../support/certs';
import { HAVE_MOSQUITTO, needsMosquitto, testMosquitto } from '../support/mosquitto';

const LOGIN = { username: 'dora', password: 'pw-conn-flags' };

async function lockedBroker(t: TestContext): Promise<string> {
  const broker = await startBroker({ port: 0, credentials: LOGIN });
  t.after(() => broker.close());
  return broker.url;
}

async function run(main: Main, argv: string[], command = 'cmd'): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let outText = '';
  let errText = '';
  out.on('data', (d: Buffer) => (outText += d.toString()));
  err.on('data', (d: Buffer) => (errText += d.toString()));
  const io: Io = { out, err, env: { NO_COLOR: '1' } };
  const code = await settle(command, (a) => main(a, io), argv, (line) => (errText += line));
  return { code, out: outText, err: errText };
}

const RUNS: [string, Main, string[]][] = [
  ['lab', lab, ['--pub', '1', '--sub', '1']],
  ['bench', bench, ['--qos', '1', '--count', '20', '--size', '8']],
  ['chaos', chaos, ['--qos', '1', '--count', '20', '--burst']],
  ['scenario', scenario, ['offline']],
];

for (const [name, main, args] of RUNS) {
  test(`${name} takes -u/-P and -k to its clients: in with the right password, refused (exit 3) with a wrong one`, async (t) => {
    const url = await lockedBroker(t);
    const ok = await run(main, [...args, '--broker', url, '-u', LOGIN.username, '-P', LOGIN.password, '-k', '30']);
    assert.equal(ok.code, EXIT.ok, ok.err);
    assert.doesNotMatch(ok.out + ok.err, new RegExp(LOGIN.password));
    const bad = await run(main, [...args, '--broker', url, '-u', LOGIN.username, '-P', 'wrong']);
    assert.equal(bad.code, EXIT.refused, bad.err);
    assert.match(bad.err, /^Error: .*(user name or password|not authorized)/im);
  });
}

test("the lab's --ca and --insecure exist (its TLS hint names them) and want a TLS broker", async () => {
  const r = await run(lab, ['--broker', 'mqtt://127.0.0.1:1', '--insecure']);
  assert.equal(r.code, EXIT.usage);
  assert.match(r.err, /^Error: --insecure needs a TLS broker URL \(mqtts:\/\/ or wss:\/\/\)/);
});

const certs = HAVE_MOSQUITTO ? makeCerts({ after }) : undefined;
const material = (): Certs => certs ?? assert.fail('mosquitto is required (REQUIRE_MOSQUITTO=1) but not installed');

for (const [name, main, args] of [['lab', lab, ['--pub', '1', '--sub', '1']], ['bench', bench, ['--qos', '1', '--count', '20', '--size', '8']]] as const) {
  const command = COMMANDS[name];
  test(`${name} over TLS: the hint's --ca is there and works (without it exit 2 naming --ca; with it exit 0)`, needsMosquitto, async (t) => {
    const c = material();
    const broker = await testMosquitto(t, { config: [`cafile ${c.ca}`, `certfile ${c.serverCert}`, `keyfile ${c.serverKey}`, 'require_certificate false'] });
    const url = `mqtts://127.0.0.1:${broker.port}`;
    // The hint names only flags the command has (src/cli/explain.ts): these now have --ca and --insecure.
    const untrusted = await run(main, [...args, '--broker', url], command);
    assert.equal(untrusted.code, EXIT.connect, untrusted.err);
    assert.match(untrusted.err, /^Error: .*cannot trust .*; pass the CA that signed it with --ca, or --insecure to skip the check/m);
    const trusted = await run(main, [...args, '--broker', url, '--ca', c.ca]);
    assert.equal(trusted.code, EXIT.ok, trusted.err);
  });
}

test('publish-with-qos -h HOST -p PORT --cafile CA: TLS, as mosquitto_pub turns it on', needsMosquitto, async (t) => {
  const c = material();
  const broker = await testMosquitto(t, { config: [`cafile ${c.ca}`, `certfile ${c.serverCert}`, `keyfile ${c.serverKey}`, 'require_certificate false'] });
  const r = await run(publish, ['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', c.ca, '-q', '1']);
  assert.equal(r.code, EXIT.ok, r.err);
  assert.match(r.out, /^receive: puback$/m);
});
