// Input as a hostile (or careless) user gives it: URLs with passwords in every
// shape, values that look like flags, switches given twice, files that never
// end, sizes and durations past what MQTT and Node can hold, hosts that are not
// this machine, output files that cannot be written. Each case: one `Error:`
// line naming the flag, the documented code, no secret in any output, and an
// end within the test's bound. In-process through settle(), as runMain does;
// a real broker on a free loopback port where the case needs one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startBroker } from '../../src/broker/embedded';
import { freePort } from '../../src/broker/mosquitto';
import { CliError, EXIT, type ExitCode } from '../../src/cli/errors';
import { openOutputFile } from '../../src/cli/output-file';
import { settle, type Main } from '../../src/cli/main';
import { COMMANDS } from '../../src/cli/options/parse';
import { PUBLIC_BROKERS } from '../../src/cli/options/broker-url';
import { parseBench, parseBroker, parseLab, parsePublish, parseSubscribe } from '../../src/cli/options';
import { main as bench } from '../../src/bin/bench';
import { main as broker } from '../../src/bin/broker';
import { main as chaos } from '../../src/bin/chaos';
import { main as compare } from '../../src/bin/compare';
import { main as lab } from '../../src/bin/lab';
import { main as load } from '../../src/bin/load';
import { main as publish } from '../../src/publish';
import { main as scenario } from '../../src/bin/scenario';
import { main as subscribe } from '../../src/subscribe';
import { makeCerts } from '../support/certs';
import { testBroker } from '../support/broker';

const MAINS = { publish, subscribe, broker, lab, bench, chaos, load, compare, scenario } satisfies Record<string, Main>;
type Command = keyof typeof MAINS;
const NAMES: Record<Command, string> = { ...COMMANDS };

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command's main() in-process and keeps every line it writes to
 * stdout and stderr (the commands write to the process's streams: src/cli/io.ts
 * is not wired into them yet), so a test can say a secret reached neither.
 */
async function run(command: Command, args: string[]): Promise<Outcome> {
  const seen = { stdout: '', stderr: '' };
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  // The commands write strings; node:test's child sends its reports to the runner as Buffers on the
  // same stdout: those pass through, or the runner would never hear of these tests.
  const keep = (stream: 'stdout' | 'stderr') =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (typeof chunk !== 'string') return (writes[stream] as (...a: unknown[]) => boolean).call(process[stream], chunk, ...rest);
      seen[stream] += chunk;
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = keep('stdout');
  process.stderr.write = keep('stderr');
  try {
    const code = await settle(NAMES[command], MAINS[command], args, (line) => (seen.stderr += line));
    return { code, ...seen };
  } finally {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
  }
}

/** One `Error:` line on stderr, matching `words`, the code, no stack. */
function assertOneError(outcome: Outcome, code: ExitCode, words: RegExp): void {
  const lines = outcome.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `exactly one stderr line, got:\n${outcome.stderr}`);
  assert.match(lines[0]!, /^Error: /);
  assert.doesNotMatch(outcome.stderr, /^\s+at /m, 'no stack trace');
  assert.match(lines[0]!, words);
  assert.equal(outcome.code, code, lines[0]);
}

// A port nobody listens on: a case that wrongly parsed would fail to connect (exit 2), not pass as a usage error.
let deadPort = 0;
let dir = '';
before(async () => {
  deadPort = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'mqtt-qos-lab-hostile-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
const dead = () => `mqtt://127.0.0.1:${deadPort}`;
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

// --- Item 2: a password never reaches any output, whatever the URL looks like ---

const SECRET = 'Hunter2secret';
const URL_SHAPES: [shape: string, url: string, secrets: string[]][] = [
  ['a password with /', `mqtt://user:${SECRET}/x/y@127.0.0.1:1883`, [SECRET]],
  ['a password with @', `mqtt://user:${SECRET}@x@127.0.0.1`, [SECRET]],
  ['a password with :', `mqtt://user:${SECRET}:z@127.0.0.1`, [SECRET]],
  ['an upper-case MQTTS://', `MQTTS://user:${SECRET}@127.0.0.1:8883`, [SECRET]],
  ['one slash, mqtt:/user:pw@host', `mqtt:/user:${SECRET}@127.0.0.1`, [SECRET]],
  ['no scheme, //user:pw@host', `//user:${SECRET}@127.0.0.1`, [SECRET]],
  ['bare user:pw@host', `user:${SECRET}@127.0.0.1`, [SECRET]],
  ['bare u:p:w@host', `user:${SECRET}:more@127.0.0.1`, [SECRET]],
  ['a lone token as user name', `mqtt://${SECRET}@127.0.0.1`, [SECRET]],
  ['percent-encoded @ and /', `mqtt://user:${SECRET}%40%2F@127.0.0.1`, [SECRET, `${SECRET}@/`]],
  ['an IPv6 host', `mqtt://user:${SECRET}@[::1]:1883`, [SECRET]],
  ['ws:// with a path', `ws://user:${SECRET}@127.0.0.1:8080/mqtt`, [SECRET]],
  ['a user name that looks like a host', `mqtt:/evil.example:${SECRET}@127.0.0.1`, [SECRET]],
  ['an empty user name', `mqtt://:${SECRET}@127.0.0.1`, [SECRET]],
  ['a bad port as well', `mqtt://user:${SECRET}@127.0.0.1:99999`, [SECRET]],
];
const BROKER_COMMANDS: Command[] = ['publish', 'subscribe', 'lab', 'bench'];

// One test per command, every shape in it: some shapes were already masked, the table is the rule.
for (const command of BROKER_COMMANDS) {
  test(`${command} --broker: ${URL_SHAPES.length} URL shapes with a password, each refused before any dial, the password in no output`, async () => {
    for (const [shape, url, secrets] of URL_SHAPES) {
      const outcome = await run(command, ['--broker', url]);
      // Exit 1, not 2: nothing was dialled, least of all a host read from the user name.
      assertOneError(outcome, EXIT.usage, /--broker '.*\*\*\*@.*': pass credentials with --username and --password/);
      for (const secret of secrets) assert.ok(!`${outcome.stdout}${outcome.stderr}`.includes(secret), `${shape}: '${secret}' leaked:\n${outcome.stderr}`);
    }
  });
}

test('a URL missing a slash (mqtt:/host) or a scheme (//host) is a clear error, not a host named mqtt', async () => {
  assertOneError(await run('publish', ['--broker', 'mqtt:/127.0.0.1']), EXIT.usage, /--broker 'mqtt:\/127\.0\.0\.1': write mqtt:\/\/HOST \(two slashes\)/);
  assertOneError(await run('subscribe', ['--broker', '//127.0.0.1']), EXIT.usage, /has no scheme before '\/\/': write mqtt:\/\/HOST, or just HOST/);
});

test('MQTTS:// in capitals, a bare IPv6 address and a host in capitals are accepted as the same URLs', () => {
  const url = (b: string) => {
    const parsed = parsePublish(['--broker', b, ...(b.startsWith('MQTTS') ? ['--insecure'] : [])], {});
    return parsed.kind === 'run' ? parsed.options.connection.url : '';
  };
  assert.equal(url('MQTTS://LOCALHOST:8883'), 'mqtts://localhost:8883');
  assert.equal(url('::1'), 'mqtt://[::1]');
  assert.equal(url('localhost.:1883'), 'mqtt://localhost.:1883');
});

test('the --password value is masked in a yargs error that echoes the command line', async () => {
  const outcome = await run('publish', ['--broker', dead(), '-u', 'u', '-P', SECRET, SECRET]);
  assertOneError(outcome, EXIT.usage, /Unknown argument: \*\*\*/);
  assert.ok(!outcome.stderr.includes(SECRET));
});

test('a URL typed without --broker is masked in the unknown-argument error', async () => {
  const outcome = await run('publish', ['--broker', dead(), `mqtt://user:${SECRET}@127.0.0.1`]);
  assertOneError(outcome, EXIT.usage, /Unknown argument: mqtt:\/\/user:\*\*\*@127\.0\.0\.1/);
});

test('-P -hunter2 is the password (a value starting with -), not -h and the help: it logs in', async (t) => {
  const secured = await startBroker({ port: 0, credentials: { username: 'u', password: '-hunter2' } });
  t.after(() => secured.close());
  const outcome = await run('publish', ['--broker', secured.url, '-u', 'u', '-P', '-hunter2', '--qos', '1', '--verbose']);
  assert.equal(outcome.code, EXIT.ok, outcome.stderr);
  assert.doesNotMatch(outcome.stdout, /Usage|--help/);
  assert.match(outcome.stdout, /receive: puback/);
  assert.ok(!`${outcome.stdout}${outcome.stderr}`.includes('hunter2'), 'the password is never printed, even with --verbose');
});

test('--password -x and --message -text take the value; --trace --verbose forgot the file name', async () => {
  const parsed = parsePublish(['--broker', dead(), '--username', 'u', '--password', '-Z', '--message', '-text'], {});
  assert.ok(parsed.kind === 'run');
  assert.equal(parsed.options.connection.password, '-Z');
  assert.deepEqual(parsed.options.source, { kind: 'given', message: '-text' });
  assertOneError(await run('publish', ['--broker', dead(), '--trace', '--verbose']), EXIT.usage, /Not enough arguments following: trace/);
});

// --- Item 3: payloads are bytes, sizes are bounded, durations fit a timer ---

test('--file with 256 binary bytes: the PUBLISH carries exactly those 256 bytes', async (t) => {
  const aedes = await testBroker(t);
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const outcome = await run('publish', ['--broker', aedes.url, '--file', file('binary.bin', bytes), '--qos', '1']);
  assert.equal(outcome.code, EXIT.ok, outcome.stderr);
  const received = aedes.events.find((e) => e.direction === 'receive' && e.packet.cmd === 'publish');
  assert.ok(received && received.packet.cmd === 'publish');
  assert.equal(Buffer.compare(Buffer.from(received.packet.payload), bytes), 0, 'the same 256 bytes, not a UTF-8 re-encoding');
});

test('--file /dev/zero: a bounded read, then a usage error naming --file and the MQTT limit', async () => {
  const started = Date.now();
  const outcome = await run('publish', ['--broker', dead(), '--file', '/dev/zero']);
  assertOneError(outcome, EXIT.usage, /--file '\/dev\/zero' holds more than 268435436 bytes: an MQTT packet holds at most 268435455 bytes/);
  assert.ok(Date.now() - started < 20_000, 'read up to the limit only');
});

test('--file larger than a packet (a sparse 300 MB file): refused from its size, before reading', async () => {
  const big = file('big.bin', '');
  truncateSync(big, 300 * 1024 * 1024);
  const started = Date.now();
  assertOneError(await run('publish', ['--broker', dead(), '--file', big]), EXIT.usage, /--file '.*big\.bin' is 314572800 bytes: an MQTT packet holds at most 268435455/);
  assert.ok(Date.now() - started < 1000, 'decided from fstat, not by reading 300 MB');
  // The bounded reader keeps the old words for a folder and a missing file.
  assertOneError(await run('publish', ['--broker', dead(), '--file', dir]), EXIT.usage, /--file '.*': cannot read it: it is a folder/);
  assertOneError(await run('publish', ['--broker', dead(), '--file', join(dir, 'nope')]), EXIT.usage, /--file '.*nope': cannot read it: no such file/);
});

test('--ca /dev/urandom: read up to 1 MiB, then a usage error naming --ca', async () => {
  assertOneError(await run('publish', ['--broker', 'mqtts://127.0.0.1:1', '--ca', '/dev/urandom']), EXIT.usage, /--ca '\/dev\/urandom' holds more than 1048576 bytes/);
});

test('a non-PEM --ca (DER, text) and a damaged PEM --ca are errors, not silently ignored', async () => {
  const tls = ['--broker', 'mqtts://127.0.0.1:1'];
  assertOneError(await run('publish', [...tls, '--ca', file('ca.txt', 'not a certificate\n')]), EXIT.usage, /--ca '.*ca\.txt' holds no PEM certificate/);
  const damaged = file('damaged.pem', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
  assertOneError(await run('subscribe', [...tls, '--ca', damaged]), EXIT.usage, /--ca '.*damaged\.pem': certificate 1 in it is damaged/);
});

test('--cert and --key that do not belong together: the error names both flags, not OpenSSL', { skip: spawnSync('openssl', ['version']).status !== 0 && 'openssl is not installed' }, async (t) => {
  const certs = makeCerts(t);
  const tls = ['--broker', `mqtts://127.0.0.1:${deadPort}`, '--ca', certs.ca];
  const mismatch = await run('publish', [...tls, '--cert', certs.clientCert, '--key', certs.serverKey]);
  assertOneError(mismatch, EXIT.usage, /--cert '.*client\.pem' and --key '.*server\.key' do not match: the key is not the private key of that certificate/);
  assert.doesNotMatch(mismatch.stderr, /error:|routines|OSSL/);
  assertOneError(await run('publish', [...tls, '--cert', certs.clientKey, '--key', certs.clientKey]), EXIT.usage, /--cert '.*client\.key' holds no PEM certificate/);
  assertOneError(await run('publish', [...tls, '--cert', certs.clientCert, '--key', certs.clientCert]), EXIT.usage, /--key '.*client\.pem' holds no PEM private key/);
  // The matching pair passes the parse, then fails to connect to the dead port: exit 2, not 1.
  assert.equal((await run('publish', [...tls, '--cert', certs.clientCert, '--key', certs.clientKey])).code, EXIT.connect);
});

test('MQTT strings of more than 65,535 bytes are usage errors before connecting: client id, user name, password', async () => {
  const long = 'é'.repeat(32_768); // 65,536 bytes as UTF-8, 32,768 characters
  assertOneError(await run('publish', ['--broker', dead(), '--client-id', long]), EXIT.usage, /--client-id '.*' is 65536 bytes as UTF-8; MQTT allows at most 65535/);
  assertOneError(await run('subscribe', ['--broker', dead(), '--username', long]), EXIT.usage, /--username '.*' is 65536 bytes as UTF-8/);
  const password = await run('publish', ['--broker', dead(), '-u', 'u', '--password', `${SECRET}${'x'.repeat(70_000)}`]);
  assertOneError(password, EXIT.usage, /--password is 70013 bytes as UTF-8; MQTT allows at most 65535/);
  assert.ok(!password.stderr.includes(SECRET));
  assert.throws(() => parsePublish(['--broker', dead()], { MQTT_USERNAME: 'u', MQTT_PASSWORD: 'p'.repeat(65_536) }), /^UsageError: MQTT_PASSWORD is 65536 bytes/);
  // 65,535 is allowed: the parse succeeds.
  assert.equal(parsePublish(['--broker', dead(), '--client-id', 'c'.repeat(65_535)], {}).kind, 'run');
});

test("the lab's pair topics (<topic>/pubP-subS) must fit too", async () => {
  assertOneError(await run('lab', ['--topic', 't'.repeat(65_530)]), EXIT.usage, /--topic is too long: with '\/pubP-subS' added/);
});

const DURATIONS: [name: string, command: Command, args: string[], words: RegExp][] = [
  ['subscribe --timeout 3000000', 'subscribe', ['--broker', 'x', '--timeout', '3000000'], /--timeout must be at most 2147483 seconds/],
  ['publish --interval 2147483648', 'publish', ['--broker', 'x', '--interval', '2147483648'], /--interval must be at most 2147483647 milliseconds/],
  ['publish --fault every:2147483648', 'publish', ['--broker', 'x', '--qos', '1', '--fault', 'every:2147483648'], /--fault every: cuts at most 2147483647 ms apart/],
  ['lab --fault every:1-9999999999', 'lab', ['--fault', 'every:1-9999999999'], /--fault every: cuts at most 2147483647 ms apart/],
  ['bench --idle 2147484', 'bench', ['--idle', '2147484'], /--idle must be at most 2147483 seconds/],
  ['chaos --cut 1-2147483648', 'chaos', ['--cut', '1-2147483648'], /--cut must be at most 2147483647 milliseconds/],
  ['load --seconds 2147484', 'load', ['--seconds', '2147484'], /--seconds must be at most 2147483/],
];
for (const [name, command, args, words] of DURATIONS) {
  test(`${name}: a duration Node would turn into 1 ms is a usage error`, async () => {
    assertOneError(await run(command, args.map((a) => (a === 'x' ? dead() : a))), EXIT.usage, words);
  });
}

test('the longest duration a timer holds is accepted, one millisecond more is not', () => {
  assert.equal(parseSubscribe(['--timeout', '2147483'], {}).kind, 'run');
  assert.equal(parsePublish(['--interval', '2147483647'], {}).kind, 'run');
  assert.throws(() => parseSubscribe(['--timeout', '2147483.648'], {}), /--timeout must be at most 2147483 seconds/);
  assert.throws(() => parsePublish(['--interval', '2147483648'], {}), /--interval must be at most/);
});

const FAULTS: [name: string, command: Command, args: string[], words: RegExp][] = [
  ['publish --fault pubrec --qos 1', 'publish', ['--qos', '1', '--fault', 'pubrec'], /--fault pubrec: at the QoS given no flow carries a PUBREC \(only PUBACK\)/],
  ['publish --fault pubcomp --qos 1', 'publish', ['--qos', '1', '--fault', 'pubcomp'], /no flow carries a PUBCOMP/],
  ['publish --fault puback --qos 2', 'publish', ['--qos', '2', '--fault', 'puback'], /no flow carries a PUBACK \(only PUBREC, PUBCOMP\)/],
  ['publish --fault puback --qos 0', 'publish', ['--qos', '0', '--fault', 'puback'], /no flow carries a PUBACK \(only PUBLISH, never acknowledged\)/],
  ['subscribe --fault pubrec --qos 1', 'subscribe', ['--qos', '1', '--fault', 'pubrec'], /no flow carries a PUBREC \(only PUBACK\)/],
  ['subscribe --fault puback --qos 0', 'subscribe', ['--qos', '0', '--fault', 'puback'], /no flow carries a PUBACK/],
  ['lab --fault pubrec --pub 0,1', 'lab', ['--pub', '0,1', '--fault', 'pubrec'], /no flow carries a PUBREC \(only PUBACK\)/],
];
for (const [name, command, args, words] of FAULTS) {
  test(`${name}: a cut point the QoS never reaches is an error, not a silent no-op`, async () => {
    assertOneError(await run(command, [...(command === 'lab' ? [] : ['--broker', dead()]), ...args]), EXIT.usage, words);
  });
}

test('cut points the QoS does reach still parse: subscribe --qos 2 takes puback (a QoS 1 publisher), --qos 1 does not take pubrec', () => {
  assert.equal(parseSubscribe(['--qos', '2', '--fault', 'puback'], {}).kind, 'run');
  assert.throws(() => parseSubscribe(['--qos', '1', '--fault', 'pubrec'], {}), /no flow carries a PUBREC/);
  assert.equal(parsePublish(['--qos', '2', '--fault', 'pubcomp'], {}).kind, 'run');
  assert.equal(parseLab(['--pub', '1,2', '--fault', 'pubcomp']).kind, 'run');
  assert.equal(parsePublish(['--qos', '0', '--fault', 'every:100'], {}).kind, 'run');
});

const SWITCHES: [name: string, command: Command, args: string[], words: RegExp][] = [
  ['--clean --no-clean', 'publish', ['--clean', '--no-clean'], /--clean was given 2 times \(--clean --no-clean\); give it once/],
  ['--clean --clean', 'subscribe', ['--clean', '--clean'], /--clean was given 2 times/],
  ['-r --retain', 'publish', ['-r', '--retain'], /--retain was given 2 times \(-r --retain\)/],
  ['-v in a bundle and --verbose', 'publish', ['-rv', '--verbose'], /--verbose was given 2 times/],
  ['lab --color --no-color', 'lab', ['--color', '--no-color'], /--color was given 2 times/],
  ['broker --quiet --quiet', 'broker', ['--quiet', '--quiet'], /--quiet was given 2 times/],
  ['chaos --burst --no-burst', 'chaos', ['--burst', '--no-burst'], /--burst was given 2 times/],
  ['bench --json --json', 'bench', ['--json', '--json'], /--json was given 2 times/],
  ['--insecure --insecure', 'publish', ['--broker', 'mqtts://127.0.0.1:1', '--insecure', '--insecure'], /--insecure was given 2 times/],
];
for (const [name, command, args, words] of SWITCHES) {
  test(`${command === 'publish' || command === 'subscribe' ? `${command} ` : ''}${name}: a switch given twice is an error like any repeated flag`, async () => {
    const withBroker = (command === 'publish' || command === 'subscribe') && !args.includes('--broker') ? ['--broker', dead(), ...args] : args;
    assertOneError(await run(command, withBroker), EXIT.usage, words);
  });
}

// --- Item 5: nothing listens or dials where the user did not ask ---

const LISTEN: [host: string, words: RegExp][] = [
  ['', /--host is empty: give an address to listen on/],
  ['0.0.0.0', /--host '0\.0\.0\.0' listens on every interface: other machines could connect; pass --allow-remote to mean it/],
  ['::', /--host '::' listens on every interface/],
  ['[::]', /--host '::' listens on every interface/],
  ['0:0:0:0:0:0:0:0', /listens on every interface/],
  ['10.1.2.3', /--host '10\.1\.2\.3' listens on '10\.1\.2\.3', not loopback/],
  ['example.com', /--host 'example\.com' listens on 'example\.com', not loopback/],
  ['bad host', /--host 'bad host': contains a space, which a host name cannot contain/],
];
for (const [host, words] of LISTEN) {
  test(`broker --host '${host}': refused without --allow-remote, nothing listens`, async () => {
    assertOneError(await run('broker', ['--host', host, '--port', '0']), EXIT.usage, words);
  });
}

test('broker --host: loopback in any spelling needs no flag; a remote one parses with --allow-remote', () => {
  for (const host of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost', 'LOCALHOST.', '::ffff:127.0.0.1']) {
    const parsed = parseBroker(['--host', host]);
    assert.ok(parsed.kind === 'run' && !parsed.options.remote, host);
  }
  const remote = parseBroker(['--host', '0.0.0.0', '--allow-remote']);
  assert.ok(remote.kind === 'run' && remote.options.remote);
});

test('broker --port already in use: one line naming --port, not a raw EADDRINUSE', async (t) => {
  const busy = await testBroker(t);
  assertOneError(await run('broker', ['--port', String(busy.port)]), EXIT.usage, new RegExp(`--port ${busy.port} on 127\\.0\\.0\\.1 is in use`));
});

test('broker --host on an address this machine does not have: names --host, not getaddrinfo or EADDRNOTAVAIL', async () => {
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): no machine has it, so the listen fails at once.
  assertOneError(await run('broker', ['--host', '192.0.2.1', '--allow-remote', '--port', '0']), EXIT.usage, /--host '192\.0\.2\.1' is not an address of this machine/);
});

// The public brokers by their presets' own hosts (these tests parse only; nothing is dialled).
const publicHost = (preset: string) => new URL(PUBLIC_BROKERS[preset]!).hostname;
const quoted = (text: string) => text.replace(/\./g, '\\.');
const REMOTE_BENCH: [broker: string, words: RegExp][] = [
  ['public:mosquitto', new RegExp(`--broker '${quoted(publicHost('mosquitto'))}' is a public test broker`)],
  // A bare preset name is a host (a container's): remote, not the public broker.
  ['mosquitto', /--broker: host 'mosquitto' is not this machine/],
  [PUBLIC_BROKERS.mosquitto!, /is a public test broker/],
  [publicHost('mosquitto').toUpperCase(), new RegExp(`--broker '${quoted(publicHost('mosquitto'))}' is a public test broker`)],
  [`${publicHost('hivemq')}.`, new RegExp(`--broker '${quoted(publicHost('hivemq'))}' is a public test broker`)],
  [`mqtt://${publicHost('emqx').replace(/^b/, 'B')}`, /is a public test broker/],
  ['10.0.0.7:1883', /--broker: host '10\.0\.0\.7' is not this machine \(loopback\); a bench floods its broker, so pass --allow-remote/],
  ['mqtt://[::ffff:8.8.8.8]', /host '::ffff:808:808' is not this machine/],
  ['2130706433', /host '2130706433' is not this machine/],
  ['my-laptop.lan', /host 'my-laptop\.lan' is not this machine/],
];
for (const [url, words] of REMOTE_BENCH) {
  test(`bench --broker ${url}: the guard checks the host, not the spelling`, async () => {
    assertOneError(await run('bench', ['--broker', url, '--count', '1']), EXIT.usage, words);
  });
}

test('bench --allow-remote lets a remote host through, never a public test broker; loopback needs no flag', () => {
  assert.equal(parseBench(['--broker', 'my-laptop.lan', '--allow-remote']).kind, 'run');
  assert.throws(() => parseBench(['--broker', publicHost('emqx'), '--allow-remote']), /is a public test broker/);
  for (const b of ['localhost', '127.0.0.1', '[::1]:1883', 'mqtt://LOCALHOST.:1883', '127.8.9.10']) assert.equal(parseBench(['--broker', b]).kind, 'run', b);
});

for (const command of ['chaos', 'load', 'scenario'] as const) {
  for (const url of ['10.0.0.7:1883', 'mqtt://my-laptop.lan', 'mqtt://[::ffff:8.8.8.8]']) {
    test(`${command} --broker ${url}: a command that cuts or floods its broker runs against loopback only`, async () => {
      assertOneError(await run(command, [...(command === 'scenario' ? ['offline'] : []), '--broker', url]), EXIT.usage, /--broker: host '.*' is not this machine \(loopback\)/);
    });
  }
}

// --- Item 7: every error names the flag or file ---

test('publish --trace /dev/full: one line naming --trace (ENOSPC in words), before connecting', async () => {
  assertOneError(await run('publish', ['--broker', dead(), '--trace', '/dev/full']), EXIT.usage, /--trace '\/dev\/full': cannot write this file \(no space left on the device\)/);
});

test('subscribe --trace in a missing folder: names --trace', async () => {
  assertOneError(await run('subscribe', ['--broker', dead(), '--trace', join(dir, 'no', 'trace.jsonl')]), EXIT.usage, /--trace '.*trace\.jsonl': cannot write this file \(no such folder\)/);
});

// --json FILE was --trace's old spelling on the tools; now it is one line saying so (subscribe's --json is the message format).
for (const [tool, argv] of [
  ['subscribe', ['--json', 'trace.jsonl']],
  ['subscribe', ['--json=trace.jsonl']],
  ['publish', ['--json', 'trace.jsonl']],
  ['publish', ['--json']],
  ['publish', ['--json', join('a.jsonl'), '--trace', 'b.jsonl']],
] as const) {
  test(`${tool} ${argv.join(' ')}: one line saying --json FILE is now --trace FILE, nothing written`, async () => {
    assertOneError(await run(tool, ['--broker', dead(), ...argv]), EXIT.usage, /^Error: --json FILE is now --trace FILE/);
  });
}

test('lab --trace /dev/full and --mermaid /dev/full: one line naming the flag, before any pair runs', async () => {
  const json = await run('lab', ['--trace', '/dev/full', '--pub', '0', '--sub', '0']);
  assertOneError(json, EXIT.usage, /--trace '\/dev\/full': cannot write this file \(no space left on the device\)/);
  assert.doesNotMatch(json.stdout, /==/, 'no pair ran');
  assertOneError(await run('lab', ['--mermaid', '/dev/full', '--pub', '0', '--sub', '0']), EXIT.usage, /--mermaid '\/dev\/full'/);
});

test('bench --trace is checked before the run, as the tools\' --trace is: /dev/full, a missing folder, a folder', async () => {
  assertOneError(await run('bench', ['--trace', '/dev/full']), EXIT.usage, /--trace '\/dev\/full': cannot write this file \(no space left on the device\)/);
  assertOneError(await run('bench', ['--trace', join(dir, 'no', 'x.jsonl')]), EXIT.usage, /--trace '.*x\.jsonl': cannot write this file \(no such folder\)/);
  assertOneError(await run('bench', ['--trace', dir]), EXIT.usage, /--trace '.*': cannot write this file \(it is a folder\)/);
});

test('a write that fails after the open (the reader of a FIFO went away): kept, then one CliError naming the flag at close', () => {
  const fifo = join(dir, 'trace.fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  // A reader must exist for the open to return; O_NONBLOCK lets this one open without a writer.
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const out = openOutputFile('trace', fifo);
  closeSync(reader);
  out.write('{"a":1}\n'); // EPIPE: kept, not thrown inside what would be a packet event
  out.write('{"a":2}\n');
  assert.throws(() => out.close(), (e: unknown) => e instanceof CliError && e.exitCode === EXIT.usage && /^--trace '.*trace\.fifo': cannot write this file \(EPIPE\); it is incomplete$/.test(e.message));
});

const HUGE: [name: string, command: Command, args: string[], words: RegExp][] = [
  ['bench --count 99999999999', 'bench', ['--count', '99999999999', '--size', '12'], /--count must be at most 10000000 \(each message's state is kept in memory\)/],
  ['bench --size 300000000', 'bench', ['--size', '300000000'], /--size must be at most 268369916 bytes/],
  ['bench --size 100000000 (× the window of 20)', 'bench', ['--size', '100000000'], /--size × --window must be at most 1073741824 bytes in flight \(1 GiB; --window 0 means all --count at once\), got 2000000000/],
  ['chaos --count 5000000000', 'chaos', ['--count', '5000000000'], /--count must be at most 10000000/],
  ['compare --count 20000000', 'compare', ['--count', '20000000'], /--count must be at most 10000000/],
  ['load --rate 1000000000 --seconds 60', 'load', ['--rate', '1000000000', '--seconds', '60'], /--rate × --seconds must be at most 100000000 messages/],
];
for (const [name, command, args, words] of HUGE) {
  test(`${name}: a usage error naming the flag, not 'Invalid typed array length'`, async () => {
    assertOneError(await run(command, args), EXIT.usage, words);
  });
}

test('a value starting with - after a short flag never prints the help and exits 0 (broker -P -hunter2)', async () => {
  const outcome = await run('broker', ['--port', '0', '-u', 'u', '-P', '-hunter2', '--host', '0.0.0.0']);
  // The password was taken as a value: the run went on to the --host check (not the help, not exit 0).
  assertOneError(outcome, EXIT.usage, /--host '0\.0\.0\.0' listens on every interface/);
  assert.doesNotMatch(outcome.stdout, /Options:/);
});

// --- The mosquitto flags: -h, -p, the Will, stdin lines: bounded, and one line each ---

for (const [argv, words] of [
  [['-h', ''], /^Error: --host is empty: give a host name or address/],
  [['-h', 'bad host'], /^Error: --host: host 'bad host' contains a space/],
  [['-h', 'mqtt://localhost'], /^Error: --host 'mqtt:\/\/localhost' takes a host name or address; a URL or host:port goes in --broker/],
  [['-h', 'u@localhost'], /^Error: --host 'u@localhost' takes a host name or address/],
  [['-p', '70000'], /^Error: --port must be 1 to 65535, got '70000'/],
  [['-p', '1e3'], /^Error: --port must be a whole number of at least 1, got '1e3'/],
  [['--will-topic', 'w', '--will-payload', 'x'.repeat(65_536)], /^Error: --will-payload is 65536 bytes; CONNECT holds at most 65535/],
  [['--will-topic', 'w'.repeat(65_536)], /^Error: --will-topic '.*': a topic is at most 65535 bytes, this one is 65536/],
  [['--will-topic', 'w/+'], /^Error: --will-topic 'w\/\+': a publish topic cannot contain the wildcards/],
] as const) {
  test(`publish ${argv.map((a) => (a.length > 20 ? `${a.slice(0, 8)}…` : a)).join(' ')}: one line, exit 1, nothing dialled`, async () => {
    assertOneError(await run('publish', [...argv]), EXIT.usage, words);
  });
}
