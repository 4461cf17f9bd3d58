import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokerUrl, parsePublish, parseSubscribe, publicBrokerNote, DEFAULT_TOPIC, PUBLIC_BROKERS, type PublishOptions, type SubscribeOptions } from '../../src/cli/options';
import { UsageError } from '../../src/cli/errors';
import { CHAOS_N, parseChaos, parseLoad } from '../../src/cli/options';
import { machineTag, MACHINE_ID_FILES } from '../../src/cli/options/client-id';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

function run<T>(parse: (argv: string[], env?: NodeJS.ProcessEnv) => { kind: string; options?: T }, argv: string[], env = {}): T {
  const parsed = parse(argv, env) as { kind: 'run'; options: T };
  assert.equal(parsed.kind, 'run');
  return parsed.options;
}

test('defaults follow the lesson: localhost, home/sample_topic, QoS 0, clean:false, one JSON message', () => {
  const o = run(parsePublish, []);
  assert.equal(o.connection.url, 'mqtt://localhost:1883');
  assert.equal(o.topic, DEFAULT_TOPIC);
  assert.equal(o.qos, 0);
  assert.equal(o.connection.clean, false);
  assert.equal(o.connection.protocol, 4);
  assert.deepEqual(o.source, { kind: 'given', message: '{"data":"test"}' });
  assert.equal(o.count, 1);
});

test('default client ids are stable per tool and machine, and differ between the tools', () => {
  const a = run(parsePublish, []).connection.clientId;
  assert.equal(run(parsePublish, []).connection.clientId, a);
  assert.match(a, /^mqtt-qos-lab-pub-[0-9a-f]{8}$/);
  assert.match(run(parseSubscribe, []).connection.clientId, /^mqtt-qos-lab-sub-[0-9a-f]{8}$/);
});

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'qos-lab-id-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the machine part of the default id comes from the machine id: two machines with the same host and user differ', (t) => {
  const dir = tempDir(t);
  const [a, b] = ['a', 'b'].map((name) => {
    const file = join(dir, name);
    writeFileSync(file, `${name.repeat(32)}\n`);
    return file;
  });
  const env = { XDG_STATE_HOME: join(dir, 'state') };
  assert.equal(machineTag(env, [a!]), machineTag(env, [a!]));
  assert.notEqual(machineTag(env, [a!]), machineTag(env, [b!]));
  // /etc/machine-id first, then D-Bus's; an empty one ("uninitialized" images) is skipped.
  writeFileSync(join(dir, 'empty'), '\n');
  assert.equal(machineTag(env, [join(dir, 'empty'), b!]), machineTag(env, [b!]));
  assert.deepEqual(MACHINE_ID_FILES, ['/etc/machine-id', '/var/lib/dbus/machine-id']);
});

test('without a machine id: a random id kept in $XDG_STATE_HOME (or ~/.local/state)/mqtt-qos-lab, stable across runs, new per state dir', (t) => {
  const dir = tempDir(t);
  const none = [join(dir, 'no-machine-id')];
  const xdg = { XDG_STATE_HOME: join(dir, 'xdg') };
  const first = machineTag(xdg, none);
  assert.equal(machineTag(xdg, none), first, 'stable across runs');
  assert.match(readFileSync(join(dir, 'xdg', 'mqtt-qos-lab', 'machine-id'), 'latin1'), /^[0-9a-f]{32}\n$/);
  // A second machine (a fresh container) makes its own.
  assert.notEqual(machineTag({ XDG_STATE_HOME: join(dir, 'other') }, none), first);
  const home = { HOME: join(dir, 'home') };
  const fromHome = machineTag(home, none);
  assert.match(readFileSync(join(dir, 'home', '.local', 'state', 'mqtt-qos-lab', 'machine-id'), 'latin1'), /^[0-9a-f]{32}\n$/);
  assert.equal(machineTag(home, none), fromHome);
});

test('the tools default client id carries the machine tag, not a hash of host name and user', () => {
  const tag = machineTag({});
  assert.equal(run(parsePublish, []).connection.clientId, `mqtt-qos-lab-pub-${tag}`);
  assert.equal(run(parseSubscribe, []).connection.clientId, `mqtt-qos-lab-sub-${tag}`);
  // Today's main hashed host name and user: the README's 628caf03 on every fresh vm/root box.
  assert.notEqual(tag, '628caf03');
});

// Parsing only: no test connects to a public broker.
test('a public broker preset gets its URL and a topic of this machine', () => {
  const o = run(parseSubscribe, ['--broker', 'public:mosquitto']);
  assert.equal(o.connection.url, PUBLIC_BROKERS.mosquitto);
  assert.match(o.connection.url, /^mqtt:\/\/[a-z.]+:1883$/);
  assert.match(o.topics[0]!, /^mqtt-qos-lab\/[0-9a-f]{8}\/sample_topic$/);
});

test('a bare preset name is a host, never the internet: -b mosquitto is mqtt://mosquitto (a container); public:NAME is the preset', () => {
  for (const name of Object.keys(PUBLIC_BROKERS)) {
    assert.equal(run(parsePublish, ['-b', name]).connection.url, `mqtt://${name}`);
    assert.equal(publicBrokerNote(`mqtt://${name}`), null);
    assert.equal(run(parsePublish, ['-b', `public:${name}`]).connection.url, PUBLIC_BROKERS[name]);
    assert.equal(run(parsePublish, ['-b', `PUBLIC:${name.toUpperCase()}`]).connection.url, PUBLIC_BROKERS[name]);
  }
  assert.throws(() => parsePublish(['-b', 'public:mosquito'], {}), /--broker 'public:mosquito': no such public test broker; there are public:mosquitto, public:emqx, public:hivemq/);
  // However it is spelled, a public broker's host gets the one line before connecting.
  // (Only parsed: nothing dials it. Its host comes from the preset, as everywhere in the tests.)
  const host = new URL(PUBLIC_BROKERS.mosquitto!).hostname;
  for (const url of [PUBLIC_BROKERS.mosquitto!, `mqtts://${host.toUpperCase()}.:8883`]) {
    assert.match(publicBrokerNote(brokerUrl(url)) ?? '', new RegExp(`^note: ${host.replace(/\./g, '\\.')} is a public test broker: anyone can read`));
  }
});

test('--qos=1, -q 2 and --protocol 5 parse; credentials come from the environment too', () => {
  assert.equal(run(parsePublish, ['--qos=1']).qos, 1);
  assert.equal(run(parsePublish, ['-q', '2']).qos, 2);
  assert.equal(run(parsePublish, ['--protocol', '5']).connection.protocol, 5);
  const o = run(parseSubscribe, [], { MQTT_USERNAME: 'u', MQTT_PASSWORD: 'p' });
  assert.deepEqual([o.connection.username, o.connection.password], ['u', 'p']);
});

test('broker URLs: host[:port], schemes, IPv6', () => {
  assert.equal(brokerUrl('127.0.0.1:1884'), 'mqtt://127.0.0.1:1884');
  assert.equal(brokerUrl('mqtts://localhost:8883'), 'mqtts://localhost:8883');
  assert.equal(brokerUrl('mqtt://[::1]:1883'), 'mqtt://[::1]:1883');
});

const BAD: [string, string[], RegExp][] = [
  ['qos 3', ['--qos=3'], /^--qos must be 0, 1 or 2, got '3'$/],
  ['qos abc', ['--qos', 'abc'], /got 'abc'/],
  ['qos 1.5', ['--qos', '1.5'], /got '1.5'/],
  ['qos -1', ['--qos=-1'], /got '-1'/],
  ['qos twice', ['--qos', '1', '--qos', '2'], /--qos was given 2 times/],
  ['empty topic', ['--topic', ''], /topic cannot be empty/],
  ['wildcard in publish topic', ['--topic', 'a/+'], /wildcards/],
  ['count 0', ['--count', '0'], /--count must be a whole number of at least 1, got '0'/],
  ['negative count', ['--count', '-5'], /got '-5'/],
  ['interval abc', ['--interval', 'abc'], /--interval must be a whole number/],
  ['unknown scheme', ['--broker', 'http://localhost'], /unknown scheme 'http'/],
  ['port 0', ['--broker', 'mqtt://localhost:0'], /port must be 1 to 65535, got 0/],
  ['port 70000', ['--broker', 'localhost:70000'], /got 70000/],
  ['URL without host', ['--broker', 'mqtt://'], /names no host/],
  ['illegal host', ['--broker', 'mqtt://bad host'], /not a valid URL/],
  ['credentials in URL', ['--broker', 'mqtt://u:secret@localhost'], /--username and --password/],
  ['protocol 4.0', ['--protocol', '4.0'], /--protocol must be 3.1.1 or 5/],
  ['password without user', ['--password', 'x'], /needs --username/],
  ['subscriber-only flag', ['--timeout', '5'], /Unknown argument: timeout/],
  ['stray word', ['hello'], /Unknown argument: hello/],
  ['log elsewhere', ['--log', 'file'], /Invalid values/],
];

for (const [name, argv, message] of BAD) {
  test(`publish-with-qos rejects ${name}`, () => {
    assert.throws(() => parsePublish(argv, {}), (e: unknown) => e instanceof UsageError && message.test(e.message));
  });
}

test('a password in --broker never appears in the error, whatever else is wrong with the URL', () => {
  for (const broker of ['mqtt://u:hunter2@localhost', 'mqtt://u:hunter2@h:70000', 'http://u:hunter2@h', 'u:hunter2@bad$host', 'mqtt://u:hunter2@']) {
    assert.throws(
      () => parsePublish(['--broker', broker], {}),
      (e: unknown) => e instanceof UsageError && !e.message.includes('hunter2') && /u:\*\*\*@/.test(e.message),
      broker,
    );
  }
});

test('subscribe-with-qos rejects publisher flags and bad filters', () => {
  assert.throws(() => parseSubscribe(['--retain'], {}), /Unknown argument: retain/);
  assert.throws(() => parseSubscribe(['--message', 'x'], {}), /Unknown argument/);
  assert.throws(() => parseSubscribe(['--topic', 'a/#/b'], {}), /'#' must be a whole level/);
  assert.throws(() => parseSubscribe(['--timeout', '0'], {}), /--timeout must be a number of seconds above 0/);
});

// --- The README's "From mosquitto_pub / mosquitto_sub" table, held against the parser ---

type Parse = { kind: 'run'; options: PublishOptions | SubscribeOptions } | { kind: 'error'; message: string };
type Check = (p: Parse) => void;

const pubOf = (p: Parse): PublishOptions => {
  assert.equal(p.kind, 'run', p.kind === 'error' ? p.message : '');
  return (p as { options: PublishOptions }).options;
};
const subOf = (p: Parse): SubscribeOptions => {
  assert.equal(p.kind, 'run', p.kind === 'error' ? p.message : '');
  return (p as { options: SubscribeOptions }).options;
};
const unknown = (words: RegExp): Check => (p) => assert.ok(p.kind === 'error' && words.test(p.message), JSON.stringify(p));

/** What each row says its example means; keyed by the row's first cell. */
const TABLE_CHECKS: Record<string, Check> = {
  '`-h HOST`': (p) => assert.equal(pubOf(p).connection.url, 'mqtt://127.0.0.1:1883'),
  '`-p PORT`': (p) => assert.equal(pubOf(p).connection.url, 'mqtt://localhost:1884'),
  '`-t TOPIC`': (p) => assert.equal(pubOf(p).topic, 'home/lamp'),
  '`-t A -t B` (sub)': (p) => assert.deepEqual(subOf(p).topics, ['home/lamp', 'alerts']),
  '`-q QOS`': (p) => assert.equal(subOf(p).qos, 2),
  '`-m MSG`': (p) => assert.deepEqual(pubOf(p).source, { kind: 'given', message: 'on' }),
  '`-f FILE`': (p) => assert.deepEqual(pubOf(p).source, { kind: 'given', message: readFileSync('package.json') }),
  '`-s`': (p) => assert.equal(pubOf(p).source.kind, 'stdin'),
  '`-l`': (p) => assert.equal(pubOf(p).source.kind, 'lines'),
  '`-n`': (p) => assert.deepEqual(pubOf(p).source, { kind: 'given', message: Buffer.alloc(0) }),
  '`--repeat N`': (p) => assert.equal(pubOf(p).count, 3),
  '`--repeat-delay S`': (p) => assert.deepEqual([pubOf(p).count, pubOf(p).interval], [3, 500]),
  '`-r`': (p) => assert.equal(pubOf(p).retain, true),
  '`-i ID`': (p) => assert.equal(subOf(p).connection.clientId, 'kitchen'),
  '`-c`': (p) => assert.equal(subOf(p).connection.clean, false),
  '`-x S`': (p) => assert.equal(subOf(p).connection.sessionExpiry, 0xffff_ffff),
  '`-k S`': (p) => assert.equal(subOf(p).connection.keepalive, 30),
  '`-u USER`, `-P PASS`': (p) => assert.deepEqual([pubOf(p).connection.username, pubOf(p).connection.password], ['alice', 'secret']),
  '`-V mqttv5`': (p) => assert.equal(pubOf(p).connection.protocol, 5),
  '`-C N` (sub)': (p) => assert.equal(subOf(p).count, 2),
  '`-W S` (sub)': (p) => assert.equal(subOf(p).timeout, 5),
  '`-d`': (p) => assert.equal(pubOf(p).output.verbose, true),
  '`-v` (sub)': (p) => assert.equal(subOf(p).output.verbose, true),
  '`-F %j` (sub)': (p) => assert.deepEqual([subOf(p).json, subOf(p).output.log], [true, 'stderr']),
  '`--will-topic T` …': (p) => assert.deepEqual(pubOf(p).connection.will, { topic: 'gone', payload: Buffer.from('bye'), qos: 1, retain: false }),
  // The file is not there: the error shows --cafile is --ca, read because -h with it means TLS.
  '`--cafile FILE`': (p) => assert.ok(p.kind === 'error' && /^--ca 'ca\.pem': cannot read it: no such file$/.test(p.message), JSON.stringify(p)),
  '`--insecure`': (p) => assert.deepEqual([pubOf(p).connection.url, pubOf(p).connection.tls?.verify], ['mqtts://localhost:8883', false]),
  '`-L URL`': (p) => assert.equal(pubOf(p).connection.url, 'mqtt://localhost:1884'),
  '`-A`, `-D`, `-E`, `-I`, `-M`, `-N`, `-R`, `-T`, `-U`, `--quiet`, `--unix`, `--proxy`, `--psk`, `--capath`': unknown(/^Unknown argument: R: mosquitto_sub -R skips retained messages: not supported here/),
  'the other tool\'s flag': unknown(/^Unknown argument: l: a flag of the publisher \(one message per stdin line\), not of this tool$/),
};

function tableRows(): { key: string; example: string }[] {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.split('### From mosquitto_pub / mosquitto_sub')[1]!.split('\n### ')[0]!;
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| mosquitto |'))
    .map((line) => {
      const cells = line.slice(2, -2).split(' | ');
      return { key: cells[0]!, example: cells[2]!.replace(/^`|`$/g, '') };
    });
}

test('the README table "From mosquitto_pub / mosquitto_sub": every row, and only those, parses as the row says', () => {
  const rows = tableRows();
  assert.deepEqual(rows.map((r) => r.key).sort(), Object.keys(TABLE_CHECKS).sort());
  for (const { key, example } of rows) {
    const [tool, ...argv] = example.split(' ');
    const parse = tool === 'publish-with-qos' ? parsePublish : tool === 'subscribe-with-qos' ? parseSubscribe : assert.fail(`row ${key}: example ${example}`);
    let result: Parse;
    try {
      result = parse(argv, {}) as Parse;
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      result = { kind: 'error', message: error.message };
    }
    try {
      TABLE_CHECKS[key]!(result);
    } catch (error) {
      throw new Error(`row ${key} (${example}): ${(error as Error).message}`);
    }
  }
});

const BAD_MOSQUITTO: [string, (argv: string[], env: NodeJS.ProcessEnv) => unknown, string[], RegExp][] = [
  ['two payloads', parsePublish, ['-m', 'x', '-n'], /^--message and --empty: give one payload \(-m, -f, -s, -l or -n\)$/],
  ['-l with --repeat', parsePublish, ['-l', '--repeat', '3'], /^--repeat does not go with -l\/--lines/],
  ['-l with --interval', parsePublish, ['-l', '--interval', '500'], /^--interval does not go with -l\/--lines: each line of stdin is published as it comes$/],
  ['-l with --repeat-delay', parsePublish, ['-l', '--repeat-delay=1'], /^--repeat-delay does not go with -l\/--lines/],
  ['--repeat-delay with --interval', parsePublish, ['--repeat-delay', '1', '--interval', '10'], /^--repeat-delay is --interval in seconds: give one of them$/],
  ['-c with --clean', parseSubscribe, ['-c', '--clean'], /^-c\/--persistent keeps the session and --clean drops it: give one$/],
  ['--json with --log stdout', parseSubscribe, ['--json', '--log', 'stdout'], /^--json puts the messages on stdout/],
  ['--json with --trace -', parseSubscribe, ['--json', '--trace', '-'], /^--json and --trace - both write to stdout: give --trace a file name$/],
  ['--will-payload alone', parsePublish, ['--will-payload', 'x'], /^--will-payload needs --will-topic$/],
  ['--will-qos 3', parsePublish, ['--will-topic', 'w', '--will-qos', '3'], /^--will-qos must be 0, 1 or 2, got '3'$/],
  ['--will-topic with a wildcard', parseSubscribe, ['--will-topic', 'a/#'], /^--will-topic 'a\/#': a publish topic cannot contain/],
  ['MQTT 3.1', parsePublish, ['-V', 'mqttv31'], /^--protocol 'mqttv31': MQTT 3.1 is not supported; use 3.1.1 or 5$/],
  ['-h host:port', parsePublish, ['-h', 'localhost:1884'], /^--host 'localhost:1884' takes a host name or address; a URL or host:port goes in --broker$/],
  ['-p with --broker', parsePublish, ['-p', '1884', '-b', 'localhost'], /^--broker and --port both name the broker/],
  ['-p 0', parsePublish, ['-p', '0'], /^--port must be a whole number of at least 1, got '0'$/],
  ['a topic filter twice on publish', parsePublish, ['-t', 'a', '-t', 'b'], /^--topic was given 2 times; give it once$/],
  ['a bad second filter', parseSubscribe, ['-t', 'a', '-t', 'b/#/c'], /^--topic 'b\/#\/c'/],
];

for (const [name, parse, argv, message] of BAD_MOSQUITTO) {
  test(`mosquitto flags: ${name} is one usage error`, () => {
    assert.throws(() => parse(argv, {}), (e: unknown) => e instanceof UsageError && message.test(e.message));
  });
}

test('-h [::1] and -h ::1 are the IPv6 loopback; -x -1 never expires; -V accepts mosquitto\'s spellings', () => {
  assert.equal(run(parsePublish, ['-h', '::1', '-p', '1884']).connection.url, 'mqtt://[::1]:1884');
  assert.equal(run(parsePublish, ['-h', '[::1]']).connection.url, 'mqtt://[::1]:1883');
  for (const [v, want] of [['mqttv5', 5], ['5', 5], ['mqttv311', 4], ['311', 4], ['3.1.1', 4], ['MQTTV5', 5]] as const) assert.equal(run(parsePublish, ['-V', v]).connection.protocol, want, v);
});

test('chaos: the count is --count or -C; -n (mosquitto_pub\'s empty payload) is one line naming --count, in every spelling', () => {
  assert.equal(run(parseChaos, ['--count', '300']).count, 300);
  assert.equal(run(parseChaos, ['-C', '300']).count, 300);
  for (const argv of [['-n', '300'], ['-n300'], ['-n=300'], ['--qos', '1', '-n', '5']]) {
    assert.throws(() => parseChaos(argv, {}), (e: unknown) => e instanceof UsageError && e.message === CHAOS_N, argv.join(' '));
  }
  assert.match(CHAOS_N, /--count N \(or -C N\)/);
});

test('load takes no count: -n says what it sends instead; -s is --seconds', () => {
  assert.throws(() => parseLoad(['-n', '1000'], false), /^UsageError: -n is not a load flag: load sends --rate messages a second for --seconds, it takes no --count$/);
  assert.throws(() => parseLoad(['-s5'], false), /^UsageError: -s is not a load flag: the duration is --seconds$/);
});

/** mosquitto_pub/mosquitto_sub --help as installed, or null. */
function mosquittoHelp(tool: string): string | null {
  const run = spawnSync(tool, ['--help'], { encoding: 'utf8', timeout: 5000 });
  return run.error ? null : run.stdout + run.stderr;
}

const CLIENTS_REQUIRED = process.env.CI === 'true' || process.env.REQUIRE_MOSQUITTO === '1';

for (const [tool, parse] of [['mosquitto_pub', parsePublish], ['mosquitto_sub', parseSubscribe]] as const) {
  const help = mosquittoHelp(tool);
  const skip = help === null && !CLIENTS_REQUIRED ? `${tool} is not installed (bash scripts/install-mosquitto.sh)` : false;
  test(`every flag ${tool} --help lists is ours, or refused with a line saying what it does there`, { skip }, () => {
    assert.ok(help !== null, `${tool} is not installed (bash scripts/install-mosquitto.sh)`);
    const flags = [...new Set([...help.matchAll(/(?:^|[\s[{|])(--?[A-Za-z][A-Za-z0-9-]*)/gm)].map((m) => m[1]!))].filter((f) => f !== '--help');
    assert.ok(flags.length > 30, `read ${tool}'s flags from its --help: ${flags.join(' ')}`);
    const bare: string[] = [];
    for (const flag of flags) {
      for (const argv of [[flag], [flag, 'x']]) {
        try {
          parse(argv, {});
        } catch (error) {
          // A switch followed by 'x' is refused for the 'x': that is not about the flag.
          const unknown = /^Unknown arguments?: ([^:]*)$/.exec((error as Error).message)?.[1];
          if (unknown !== undefined && unknown !== 'x') bare.push(`${argv.join(' ')}: ${(error as Error).message}`);
        }
      }
    }
    assert.deepEqual(bare, []);
  });
}

test("a value attached to its short flag, as getopt reads it: -q2, -h127.0.0.1, -thome/x, -mhello, -Psecret (yargs split them into letters)", () => {
  const o = run(parsePublish, ['-q2', '-h127.0.0.1', '-p1884', '-thome/x', '-mhello', '-ubob', '-Ps3cr3t']);
  assert.equal(o.qos, 2);
  assert.equal(o.connection.url, 'mqtt://127.0.0.1:1884');
  assert.equal(o.topic, 'home/x');
  assert.deepEqual(o.source, { kind: 'given', message: 'hello' });
  assert.equal(o.connection.password, 's3cr3t');
  assert.equal(run(parseSubscribe, ['-C5', '-W2', '-x-1', '-V5']).count, 5);
  // Switches still bundle, a value flag last: -rq1 is -r -q 1.
  const bundled = run(parsePublish, ['-rq1']);
  assert.equal(bundled.retain, true);
  assert.equal(bundled.qos, 1);
  // An attached password is masked like a separate one in an error that echoes the command line.
  assert.throws(() => parsePublish(['-ubob', '-Ps3cr3t', 's3cr3t-stray'], {}), (e: unknown) => e instanceof UsageError && !e.message.includes('s3cr3t') && /Unknown argument/.test(e.message));
});
