// Bad input, one case per test: each gives exactly one `Error: ...` line on
// stderr, the documented exit code, and no stack trace. Pure parse errors call
// the tools' main() in-process (the same path runMain takes, minus a spawn);
// a representative few, and everything that needs the network, spawn the real CLI.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startBroker } from '../../src/broker/embedded';
import { freePort } from '../../src/broker/mosquitto';
import { EXIT, type ExitCode } from '../../src/cli/errors';
import { settle, type Main } from '../../src/cli/main';
import { TOOL_NAMES } from '../../src/cli/options';
import { main as broker } from '../../src/bin/broker';
import { main as publish } from '../../src/publish';
import { main as subscribe } from '../../src/subscribe';
import { ROOT, runCli } from '../support/cli';
import { testBroker } from '../support/broker';

type Tool = 'publish' | 'subscribe' | 'broker';
const MAINS: Record<Tool, { name: string; main: Main }> = {
  publish: { name: TOOL_NAMES.publish, main: publish },
  subscribe: { name: TOOL_NAMES.subscribe, main: subscribe },
  broker: { name: 'npm run broker --', main: broker },
};

interface Outcome {
  code: number | null;
  stderr: string;
}

/** One `Error: ` line, no stack, the expected code and words. */
function assertOneError(outcome: Outcome, code: ExitCode, words: RegExp): void {
  const lines = outcome.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `exactly one stderr line, got:\n${outcome.stderr}`);
  assert.match(lines[0]!, /^Error: /);
  assert.doesNotMatch(outcome.stderr, /^ {4}at /m, 'no stack trace');
  assert.match(lines[0]!, words);
  assert.equal(outcome.code, code, lines[0]);
}

// A port nobody listens on: a case that wrongly parsed would fail to connect there
// (exit 2, not 1) rather than reach a real broker on the default port.
let deadPort = 0;
const dead = () => ['--broker', `mqtt://127.0.0.1:${deadPort}`];
test.before(async () => {
  deadPort = await freePort();
});

async function inProcess(tool: Tool, args: string[]): Promise<Outcome> {
  let stderr = '';
  const argv = tool !== 'broker' && !args.some((a) => a === '--broker' || a === '-b') ? [...args, ...dead()] : args;
  const code = await settle(MAINS[tool].name, MAINS[tool].main, argv, (line) => (stderr += line));
  return { code, stderr };
}

const LONG_TOPIC = 'a'.repeat(65_536);
const USAGE: [name: string, tool: Tool, args: string[], words: RegExp][] = [
  ['qos 3', 'publish', ['--qos', '3'], /--qos must be 0, 1 or 2, got '3'/],
  ['qos -1', 'publish', ['--qos', '-1'], /--qos must be 0, 1 or 2, got '-1'/],
  ['qos abc', 'subscribe', ['--qos', 'abc'], /--qos must be 0, 1 or 2, got 'abc'/],
  ['qos 1.5', 'publish', ['--qos', '1.5'], /got '1\.5'/],
  ['qos with no value', 'publish', ['--qos'], /Not enough arguments following: qos/],
  ['empty topic', 'publish', ['--topic', ''], /a topic cannot be empty/],
  ['+ in a publish topic', 'publish', ['--topic', 'home/+/t'], /cannot contain the wildcards/],
  ['# in a publish topic', 'publish', ['--topic', 'home/#'], /cannot contain the wildcards/],
  ['topic over 65,535 bytes', 'publish', ['--topic', LONG_TOPIC], /at most 65535 bytes, this one is 65536/],
  ['NUL in a topic', 'subscribe', ['--topic', 'home/\u0000/t'], /--topic 'home\/\\u0000\/t': a topic cannot contain a NUL/],
  ['# not last in a filter', 'subscribe', ['--topic', 'home/#/t'], /'#' must be a whole level and the last one/],
  ['+ inside a level', 'subscribe', ['--topic', 'home/a+'], /'\+' must be a whole level/],
  ['malformed URL', 'publish', ['--broker', 'mqtt://bad host'], /--broker 'mqtt:\/\/bad host' is not a valid URL/],
  ['unclosed IPv6 literal', 'publish', ['--broker', 'mqtt://[::1'], /not a valid URL/],
  ['unknown scheme', 'publish', ['--broker', 'ftp://127.0.0.1'], /unknown scheme 'ftp', use mqtt, mqtts, ws, wss/],
  ['port 0', 'publish', ['--broker', 'mqtt://127.0.0.1:0'], /port must be 1 to 65535, got 0/],
  ['port 70000', 'subscribe', ['--broker', '127.0.0.1:70000'], /port must be 1 to 65535, got 70000/],
  ['illegal character in a host name', 'publish', ['--broker', 'mqtt://ho$t'], /host 'ho\$t' contains '\$'/],
  ['empty label in a host name', 'publish', ['--broker', 'a..b'], /not a valid host name/],
  ['credentials in the URL', 'publish', ['--broker', 'mqtt://u:hunter2@127.0.0.1'], /pass credentials with --username/],
  ['negative count', 'publish', ['--count', '-1'], /--count must be a whole number of at least 1, got '-1'/],
  ['count 0', 'publish', ['--count', '0'], /at least 1, got '0'/],
  ['fractional count', 'subscribe', ['--count', '2.5'], /--count must be a whole number/],
  ['timeout 0', 'subscribe', ['--timeout', '0'], /--timeout must be a number of seconds above 0/],
  ['timeout abc', 'subscribe', ['--timeout', 'abc'], /--timeout must be a number of seconds above 0, got 'abc'/],
  ['negative interval', 'publish', ['--interval', '-5'], /--interval must be a whole number of at least 0/],
  ['--message with --file', 'publish', ['--message', 'x', '--file', 'package.json'], /--message and --file: give one payload/],
  ['missing payload file', 'publish', ['--file', 'no/such/payload.json'], /--file 'no\/such\/payload.json': cannot read it: no such file/],
  ['payload file is a folder', 'publish', ['--file', 'src'], /--file 'src': cannot read it: it is a folder/],
  ["the publisher's --message given to the subscriber", 'subscribe', ['--message', 'x'], /Unknown argument: message/],
  ["the subscriber's --timeout given to the publisher", 'publish', ['--timeout', '5'], /Unknown argument: timeout/],
  ['unknown flag', 'publish', ['--qso', '1'], /Unknown argument: qso \(/],
  ['stray positional argument', 'publish', ['hello'], /Unknown argument: hello/],
  ['a flag given twice', 'publish', ['--qos', '1', '-q', '2'], /--qos was given 2 times; give it once/],
  ['unknown protocol', 'publish', ['--protocol', '6'], /--protocol must be 3.1.1 or 5 \(or mqttv311, 311, mqttv5\), got '6'/],
  ['empty client id', 'subscribe', ['--client-id', ''], /--client-id cannot be empty/],
  ['password without user name', 'publish', ['--password', 'hunter2'], /--password needs --username/],
  ['TLS flag on a plain URL', 'publish', ['--ca', 'ca.pem'], /--ca needs a TLS broker URL/],
  ['--insecure on a plain URL', 'subscribe', ['--insecure'], /--insecure needs a TLS broker URL/],
  ['missing CA file', 'publish', ['--broker', 'mqtts://127.0.0.1:8883', '--ca', 'no/such/ca.pem'], /--ca 'no\/such\/ca.pem': cannot read it: no such file/],
  ['--cert without --key', 'publish', ['--broker', 'mqtts://127.0.0.1:8883', '--cert', 'package.json'], /--cert and --key go together/],
  ['--log to a file name', 'publish', ['--log', 'out.txt'], /Invalid values: Argument: log, Given: "out.txt", Choices: "stdout", "stderr"/],
  ['broker port 70000', 'broker', ['--port', '70000'], /--port must be 0 to 65535, got '70000'/],
  ['broker port -1', 'broker', ['--port', '-1'], /--port must be a whole number of at least 0/],
  ['unknown broker engine', 'broker', ['--engine', 'hivemq'], /Invalid values: Argument: engine, Given: "hivemq"/],
  ['broker user name without password', 'broker', ['--username', 'u'], /--username and --password go together/],
];

for (const [name, tool, args, words] of USAGE) {
  test(`${tool}: ${name} is a usage error`, async () => {
    const outcome = await inProcess(tool, args);
    assertOneError(outcome, EXIT.usage, words);
    assert.ok(outcome.stderr.includes(`(see '${MAINS[tool].name} --help')`), 'points at --help');
    assert.doesNotMatch(outcome.stderr, /hunter2/, 'a password given on the command line is never echoed');
  });
}

// The same checks through a real process for a few of them: runMain, stderr, the exit status.
for (const [name, tool, args, words] of USAGE.filter(([n]) => ['qos 3', 'unknown flag', 'missing payload file'].includes(n))) {
  test(`spawned ${tool}: ${name} exits 1 with one line`, async () => {
    const run = await runCli(tool as 'publish', [...args, ...dead()]).done;
    assertOneError(run, EXIT.usage, words);
    assert.equal(run.stdout, '', 'nothing on stdout');
  });
}

test('nothing listening: exit 2, says how to start a broker', async () => {
  const run = await runCli('publish', dead()).done;
  assertOneError(run, EXIT.connect, /connection refused; start one with 'npm run broker'/);
});

test('the broker port is in use: exit 1, says so', async (t: TestContext) => {
  const busy = await testBroker(t);
  const run = await runCli('broker', ['--port', String(busy.port)]).done;
  assertOneError(run, EXIT.usage, new RegExp(`port ${busy.port} on 127.0.0.1 is in use`));
});

for (const [what, args, words] of [
  ['a wrong password', ['--username', 'alice', '--password', 'wrong-pw-1'], /refused the connection: code 4 bad user name or password/],
  ['no credentials', [], /refused the connection: code 4 bad user name or password/],
] as const) {
  test(`refused auth (${what}): exit 3, names the reason, never shows the password`, async (t) => {
    const secured = await startBroker({ port: 0, credentials: { username: 'alice', password: 'right-pw-1' } });
    t.after(() => secured.close());
    const run = await runCli('publish', ['--broker', secured.url, ...args, '--verbose']).done;
    assertOneError(run, EXIT.refused, words);
    assert.match(run.stdout, /^receive: connack {2}sessionPresent=false code=4 \(bad user name or password\)$/m);
    assert.doesNotMatch(run.stdout + run.stderr, /wrong-pw-1|right-pw-1/);
  });
}

test('TLS to a plain port: exit 2, asks whether the port is a TLS listener', async (t) => {
  const plain = await testBroker(t);
  const run = await runCli('subscribe', ['--broker', `mqtts://127.0.0.1:${plain.port}`, '--insecure']).done;
  assertOneError(run, EXIT.connect, /TLS listener/);
});

test('MQTT 5 to the 3.1.1-only embedded broker: exit 3, unacceptable protocol version', async (t) => {
  const aedes = await testBroker(t);
  const run = await runCli('publish', ['--broker', aedes.url, '--protocol', '5']).done;
  assertOneError(run, EXIT.refused, /refused the connection: code 1 unacceptable protocol version: it does not speak MQTT 5, try --protocol 3.1.1$/);
});

test('the exit-code table in docs/edges.md lists exactly EXIT from src/cli/errors.ts', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'edges.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| (\d+) \| (\w+) \|/gm)].map((m) => [m[2], Number(m[1])]);
  assert.deepEqual(rows, Object.entries(EXIT));
});

test('the exit-code table in README.md lists exactly the codes of EXIT', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('### Exit codes'));
  const codes = [...table.slice(0, table.indexOf('\n\n', table.indexOf('| code |'))).matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
  assert.deepEqual(codes, Object.values(EXIT));
});
