// Hints name what the user can type: the command as they started it, and only
// flags that command's parser accepts (the lab had no --ca, the load no --ack-timeout).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorLine, UsageError } from '../../src/cli/errors';
import { startedAsName } from '../../src/cli/explain';
import { BINS, startedAs, settle, type Start } from '../../src/cli/main';
import { parseBench, parseBroker, parseChaos, parseCompare, parseLab, parseLoad, parseProbe, parsePublish, parseScenario, parseStartup, parseSubscribe } from '../../src/cli/options';
import { COMMANDS } from '../../src/cli/options/parse';
import { MqttError, type Remedy } from '../../src/mqtt/errors';
import { main as publish } from '../../src/publish';

type Command = keyof typeof COMMANDS;

/** Each command's parser, as its entry calls it. */
const PARSERS: Record<Command, (argv: string[]) => unknown> = {
  publish: (argv) => parsePublish(argv, {}),
  subscribe: (argv) => parseSubscribe(argv, {}),
  broker: parseBroker,
  lab: parseLab,
  scenario: (argv) => parseScenario(['offline', ...argv]),
  chaos: parseChaos,
  load: (argv) => parseLoad(argv, false),
  bench: parseBench,
  compare: parseCompare,
  startup: parseStartup,
  probe: parseProbe,
};

const REMEDIES: Remedy[] = ['start-broker', 'check-host', 'trust-ca', 'host-name', 'client-cert', 'tls-port-or-cert', 'older-protocol', 'longer-ack-wait'];

/** Whether `command`'s parser knows `flag` (as a switch or with a value): any refusal but "Unknown argument" means it does. */
function accepts(command: Command, flag: string): boolean {
  if (flag === '--help') return true; // every parser has it (and would print the page)
  for (const argv of [[flag], [flag, '1']]) {
    try {
      PARSERS[command](argv);
      return true;
    } catch (error) {
      if (!/Unknown argument/.test((error as Error).message)) return true;
    }
  }
  return false;
}

test('every hint a command prints names only flags that command accepts', () => {
  const wrong: string[] = [];
  for (const command of Object.keys(COMMANDS) as Command[]) {
    PARSERS[command]([]); // the parse declares the command's flags, as it does before any error
    const lines = [
      errorLine(new UsageError('a bad value'), COMMANDS[command]),
      ...REMEDIES.map((remedy) => errorLine(new MqttError('unreachable', 'it failed', remedy, 5000), COMMANDS[command])),
    ];
    for (const line of lines) {
      for (const flag of line.match(/--[a-z][a-z0-9-]*/g) ?? []) if (!accepts(command, flag)) wrong.push(`${COMMANDS[command]} has no ${flag}: ${line}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('a hint keeps its words without the flag a command lacks', () => {
  parseLoad([], false);
  assert.equal(errorLine(new MqttError('timeout', 'no PUBACK within 5 s', 'longer-ack-wait', 5000), COMMANDS.load), 'Error: no PUBACK within 5 s');
  parsePublish([], {});
  assert.equal(errorLine(new MqttError('timeout', 'no PUBACK within 5 s', 'longer-ack-wait', 5000), COMMANDS.publish), 'Error: no PUBACK within 5 s (--ack-timeout 5)');
  // A process whose command parsed no flags (the load's children) names none.
  assert.equal(errorLine(new MqttError('unreachable', 'connection refused', 'start-broker'), 'load publisher'), "Error: connection refused; start one with 'npm run broker'");
});

const ROOT = '/home/me/mqtt-qos-lab';
const start = (argv: string[], execArgv: string[] = [], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Start => ({ argv, execArgv, env, cwd });
const npm = (event: string, script: string, command = 'run'): NodeJS.ProcessEnv => ({ npm_lifecycle_event: event, npm_lifecycle_script: script, npm_command: command });
const NPX_TS_NODE = { npm_lifecycle_event: 'npx', npm_lifecycle_script: "'ts-node'", npm_command: 'exec' };

// What each launch really shows a process (recorded with npm 11.19, ts-node 10.9, tsx 4).
const STARTS: [string, Start, string][] = [
  ['npx ts-node', start([`${ROOT}/node_modules/.bin/ts-node`, `${ROOT}/src/publish.ts`], [`${ROOT}/node_modules/ts-node/dist/bin.js`], NPX_TS_NODE), 'npx ts-node src/publish.ts'],
  ['npx ts-node from src/', start([`${ROOT}/node_modules/.bin/ts-node`, `${ROOT}/src/publish.ts`], [`${ROOT}/node_modules/ts-node/dist/bin.js`], NPX_TS_NODE, `${ROOT}/src`), 'npx ts-node publish.ts'],
  ['ts-node on PATH', start([`${ROOT}/node_modules/ts-node/dist/bin.js`, `${ROOT}/src/subscribe.ts`], [`${ROOT}/node_modules/ts-node/dist/bin.js`]), 'ts-node src/subscribe.ts'],
  ['npx tsx', start(['/usr/bin/node', `${ROOT}/src/publish.ts`], ['--require', `${ROOT}/node_modules/tsx/dist/preflight.cjs`, '--import', `file://${ROOT}/node_modules/tsx/dist/loader.mjs`], { ...NPX_TS_NODE, npm_lifecycle_script: "'tsx'" }), 'npx tsx src/publish.ts'],
  ['node --import tsx', start(['/usr/bin/node', `${ROOT}/src/publish.ts`], ['--import', 'tsx']), 'node --import tsx src/publish.ts'],
  ['the compiled file', start(['/usr/bin/node', `${ROOT}/dist/publish.js`]), 'node dist/publish.js'],
  ['the bin on PATH', start(['/usr/bin/node', '/usr/local/bin/publish-with-qos'], [], {}, '/tmp'), 'publish-with-qos'],
  ['the probe bin on PATH', start(['/usr/bin/node', '/usr/local/bin/mqtt-qos-probe'], [], {}, '/tmp'), 'mqtt-qos-probe'],
  ['npm start', start(['/usr/bin/node', `${ROOT}/src/bin/lab.ts`], ['--import', 'tsx'], npm('start', 'node --import tsx src/bin/lab.ts', 'start')), 'npm start --'],
  ['npm run start', start(['/usr/bin/node', `${ROOT}/src/bin/lab.ts`], ['--import', 'tsx'], npm('start', 'node --import tsx src/bin/lab.ts')), 'npm start --'],
  ['npm run chaos', start(['/usr/bin/node', `${ROOT}/src/bin/chaos.ts`], ['--import', 'tsx'], npm('chaos', 'node --import tsx src/bin/chaos.ts')), 'npm run chaos --'],
  // A tool that `npm test` spawns was not started by `npm run test`.
  ['a child of npm test', start(['/usr/bin/node', `${ROOT}/src/publish.ts`], ['--import', 'tsx'], npm('test', 'tsc -p . && node --import tsx --test test/unit/*.test.ts')), 'node --import tsx src/publish.ts'],
  ['no script (node -e)', start(['/usr/bin/node']), COMMANDS.publish],
];

for (const [how, started, shown] of STARTS) {
  test(`started as ${how}: hints say '${shown}'`, () => assert.equal(startedAs(COMMANDS.publish, started), shown));
}

test('a usage error names the command as it was started', async (t) => {
  startedAsName(COMMANDS.publish, 'npx ts-node src/publish.ts');
  t.after(() => startedAsName(COMMANDS.publish, COMMANDS.publish));
  let err = '';
  const code = await settle(COMMANDS.publish, (argv) => publish(argv), ['--qos=3'], (line) => (err += line));
  assert.equal(code, 1);
  assert.equal(err, "Error: --qos must be 0, 1 or 2, got '3' (see 'npx ts-node src/publish.ts --help')\n");
});

test('every bin of package.json is known by name when run from PATH', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.deepEqual([...BINS].sort(), Object.keys(pkg.bin).sort());
});

test('an unknown host on the tools points at -h as well as --broker (a mosquitto_pub user typed -h)', () => {
  parsePublish([], {});
  assert.equal(errorLine(new MqttError('unreachable', 'cannot reach the broker at mqtt://nohost.invalid:1883: unknown host', 'check-host'), COMMANDS.publish), 'Error: cannot reach the broker at mqtt://nohost.invalid:1883: unknown host; check -h/--host or --broker');
  parseLab([]);
  assert.match(errorLine(new MqttError('unreachable', 'unknown host', 'check-host'), COMMANDS.lab), /; check --broker$/);
});

test('a certificate for another name: the hint says so and offers --insecure, not --ca (the CA was trusted)', () => {
  parsePublish([], {});
  assert.equal(errorLine(new MqttError('unreachable', 'a certificate for another name', 'host-name'), COMMANDS.publish), 'Error: a certificate for another name; connect by a name it lists, or add --insecure to leave the name unchecked (with --ca the CA is still checked)');
});
