// The connection flags (src/cli/options/connection.ts) reach every command's
// clients: the lab, the bench, chaos and scenario log in to a broker that
// wants a password, and are refused (exit 3) with a wrong one.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { startBroker } from '../../src/broker/embedded';
import { EXIT } from '../../src/cli/errors';
import type { Io } from '../../src/cli/io';
import { settle } from '../../src/cli/main';

type Main = (argv: string[], io: Io) => Promise<number>;
import { main as bench } from '../../src/bin/bench';
import { main as chaos } from '../../src/bin/chaos';
import { main as lab } from '../../src/bin/lab';
import { main as scenario } from '../../src/bin/scenario';

const LOGIN = { username: 'dora', password: 'pw-conn-flags' };

async function lockedBroker(t: TestContext): Promise<string> {
  const broker = await startBroker({ port: 0, credentials: LOGIN });
  t.after(() => broker.close());
  return broker.url;
}

async function run(main: Main, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let outText = '';
  let errText = '';
  out.on('data', (d: Buffer) => (outText += d.toString()));
  err.on('data', (d: Buffer) => (errText += d.toString()));
  const io: Io = { out, err, env: { NO_COLOR: '1' } };
  const code = await settle('cmd', (a) => main(a, io), argv, (line) => (errText += line));
  return { code, out: outText, err: errText };
}

const COMMANDS: [string, Main, string[]][] = [
  ['lab', lab, ['--pub', '1', '--sub', '1']],
  ['bench', bench, ['--qos', '1', '--count', '20', '--size', '8']],
  ['chaos', chaos, ['--qos', '1', '--count', '20', '--burst']],
  ['scenario', scenario, ['offline']],
];

for (const [name, main, args] of COMMANDS) {
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
