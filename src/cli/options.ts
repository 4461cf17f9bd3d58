// The options of both tools, defined once (like mosquitto's client_shared.c):
// the yargs definitions, and the validation that turns what the user typed into
// typed options or a UsageError naming the flag and the value.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import yargs, { type Argv } from 'yargs';
import { parseQos, type QoS } from '../mqtt/qos';
import { topicFilterProblem, topicNameProblem } from '../mqtt/topic';
import type { ConnectionOptions, ProtocolVersion, TlsOptions } from '../mqtt/connection';
import { UsageError } from './errors';
import type { LabOptions } from '../lab/pairs';
import { FAULT_SYNTAX, parseFault, type FaultSpec } from '../faults/fault-spec';
import { BROKER_KINDS, type BrokerKind } from '../broker/kind';
import type { ChaosOptions } from '../faults/chaos';

export type Role = 'publish' | 'subscribe';

export const TOOL_NAMES: Record<Role, string> = {
  publish: 'publish-with-qos',
  subscribe: 'subscribe-with-qos',
};

/** Public test brokers of the lesson's kind, by short name. Tests and CI never contact them. */
export const PUBLIC_BROKERS: Record<string, string> = {
  mosquitto: 'mqtt://test.mosquitto.org:1883',
  emqx: 'mqtt://broker.emqx.io:1883',
  hivemq: 'mqtt://broker.hivemq.com:1883',
};

export const DEFAULT_BROKER = 'mqtt://localhost:1883';
export const DEFAULT_TOPIC = 'home/sample_topic';
export const DEFAULT_MESSAGE = JSON.stringify({ data: 'test' });
const SCHEMES = ['mqtt', 'mqtts', 'ws', 'wss'];

export interface OutputOptions {
  verbose: boolean;
  color: boolean;
  /** Where packet lines and notes go; with 'stderr', stdout carries only received payloads. */
  log: 'stdout' | 'stderr';
  /** --json FILE: also write every packet as JSON lines there. */
  json?: string;
}

export interface CommonOptions {
  connection: ConnectionOptions;
  output: OutputOptions;
  topic: string;
  qos: QoS;
  /** --fault: go through a loopback fault proxy and reconnect after each cut. */
  fault?: FaultSpec;
}

export interface PublishOptions extends CommonOptions {
  message: string;
  count: number;
  /** Milliseconds between two publishes. */
  interval: number;
  retain: boolean;
}

export interface SubscribeOptions extends CommonOptions {
  /** Exit after this many messages; undefined runs until Ctrl-C. */
  count?: number;
  /** Seconds to wait before giving up with EXIT.timeout. */
  timeout?: number;
}

/** A parse either asks for help/version (already printed) or yields options. */
export type Parsed<T> = { kind: 'shown' } | { kind: 'run'; options: T };

/** --verbose and --color: every tool that prints packets has them. */
function displayOptions(y: Argv): Argv {
  return y
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'show packet details: ids, qos/dup/retain, topic, sizes, codes' })
    .option('color', { type: 'boolean', default: true, describe: 'color output on a terminal (--no-color or NO_COLOR turns it off)' });
}

/** --json: the packet trace as JSON lines; the pair and the lab share it. */
function traceOption(y: Argv): Argv {
  return y.option('json', { type: 'string', describe: 'also write every packet to FILE as JSON lines (one object per packet; never a password)' });
}

function sharedOptions(y: Argv): Argv {
  return traceOption(displayOptions(y))
    .option('broker', {
      alias: 'b',
      type: 'string',
      default: DEFAULT_BROKER,
      describe: `broker URL (mqtt://, mqtts://, ws://, wss://), host[:port], or a public test broker: ${Object.keys(PUBLIC_BROKERS).join(', ')}`,
    })
    .option('topic', { alias: 't', type: 'string', describe: `topic (default ${DEFAULT_TOPIC}; namespaced per machine on a public broker)` })
    .option('qos', { alias: 'q', type: 'string', default: '0', describe: 'QoS level: 0, 1 or 2' })
    .option('client-id', { alias: 'i', type: 'string', describe: 'client id (default: stable per tool and machine, so a --no-clean session survives a restart)' })
    .option('clean', { type: 'boolean', default: false, describe: 'start a clean session (--no-clean, the default, keeps the session on the broker)' })
    .option('protocol', { alias: 'V', type: 'string', default: '3.1.1', describe: 'MQTT version: 3.1.1 or 5' })
    .option('username', { alias: 'u', type: 'string', describe: 'user name (or MQTT_USERNAME)' })
    .option('password', { alias: 'P', type: 'string', describe: 'password (or MQTT_PASSWORD); never printed' })
    .option('log', { type: 'string', choices: ['stdout', 'stderr'], default: 'stdout', describe: 'where packet lines go; stderr leaves stdout to payloads' })
    .option('ca', { type: 'string', describe: 'CA certificate file (PEM) that signed the broker\'s certificate; with mqtts:// or wss://' })
    .option('cert', { type: 'string', describe: 'client certificate file (PEM), with --key; with mqtts:// or wss://' })
    .option('key', { type: 'string', describe: 'client private key file (PEM), with --cert' })
    .option('insecure', { type: 'boolean', default: false, describe: 'do not verify the broker\'s certificate (TLS stays on; for self-signed test brokers only)' });
}

function publishOptions(y: Argv): Argv {
  return y
    .option('message', { alias: 'm', type: 'string', describe: `payload to publish (default ${DEFAULT_MESSAGE})` })
    .option('file', { alias: 'f', type: 'string', describe: 'publish the contents of this file as the payload' })
    .conflicts('message', 'file')
    .option('count', { alias: 'n', type: 'string', default: '1', describe: 'how many messages to publish' })
    .option('interval', { type: 'string', default: '1000', describe: 'milliseconds between messages' })
    .option('retain', { alias: 'r', type: 'boolean', default: false, describe: 'set the RETAIN flag' });
}

function subscribeOptions(y: Argv): Argv {
  return y
    .option('count', { alias: 'n', type: 'string', describe: 'exit after this many messages (default: run until Ctrl-C)' })
    .option('timeout', { alias: 'W', type: 'string', describe: 'give up after this many seconds with exit code 4 if the messages did not arrive' });
}

/**
 * Parses a command line for one tool. Unknown flags, including the other
 * tool's, are errors: nothing the user typed is silently ignored. Returns null
 * when --help or --version was printed.
 */
function parseRaw(tool: string, about: string, argv: string[], build: (y: Argv) => Argv): Record<string, unknown> | null {
  const y = yargs(argv)
    .scriptName(tool)
    .usage(`$0 [options]\n\n${about}`)
    // No camelCase twins: an unknown flag is named once, as typed.
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false, 'camel-case-expansion': false })
    .strict()
    .exitProcess(false)
    .showHelpOnFail(false)
    .fail((message, error) => {
      // yargs spreads some messages over lines ("Invalid values:\n  Argument: ..."): an error is one line.
      throw new UsageError((message ?? error?.message ?? 'invalid command line').replace(/\s*\n\s*/g, ' '));
    })
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(100, process.stdout.columns ?? 100));
  const built = build(y);
  // A value flag with nothing after it (`--qos` at the end) is an error, not a silent default.
  // (getOptions is public in yargs but missing from @types/yargs.)
  built.requiresArg((built as Argv & { getOptions(): { string: string[] } }).getOptions().string);
  const raw = built.parseSync() as Record<string, unknown>;
  return raw.help || raw.version ? null : raw;
}

export function parsePublish(argv: string[], env = process.env): Parsed<PublishOptions> {
  const raw = parseRaw(TOOL_NAMES.publish, 'Publish at a QoS level and print every MQTT packet sent and received.', argv, (y) => faultOption(publishOptions(sharedOptions(y))));
  if (!raw) return { kind: 'shown' };
  const common = validateCommon('publish', raw, env);
  const file = single(raw, 'file');
  const message = file === undefined ? (single(raw, 'message') ?? DEFAULT_MESSAGE) : readInput('file', file);
  return {
    kind: 'run',
    options: {
      ...common,
      message,
      count: integer('count', single(raw, 'count') ?? '1', 1),
      interval: integer('interval', single(raw, 'interval') ?? '1000', 0),
      retain: Boolean(raw.retain),
      fault: validateFault(raw, common.connection.url),
    },
  };
}

export function parseSubscribe(argv: string[], env = process.env): Parsed<SubscribeOptions> {
  const raw = parseRaw(TOOL_NAMES.subscribe, 'Subscribe at a QoS level and print every MQTT packet, and the QoS each message really came at.', argv, (y) =>
    faultOption(subscribeOptions(sharedOptions(y))),
  );
  if (!raw) return { kind: 'shown' };
  const common = validateCommon('subscribe', raw, env);
  const count = single(raw, 'count');
  const timeout = single(raw, 'timeout');
  return {
    kind: 'run',
    options: {
      ...common,
      count: count === undefined ? undefined : integer('count', count, 1),
      timeout: timeout === undefined ? undefined : seconds('timeout', timeout),
      fault: validateFault(raw, common.connection.url),
    },
  };
}

function validateCommon(role: Role, raw: Record<string, unknown>, env: NodeJS.ProcessEnv): CommonOptions {
  const qos = qosFlag(raw, '0');

  const url = brokerUrl(single(raw, 'broker') ?? DEFAULT_BROKER);
  const machine = machineTag();
  const onPublicBroker = Object.values(PUBLIC_BROKERS).some((u) => new URL(u).hostname === new URL(url).hostname);

  const topic = single(raw, 'topic') ?? (onPublicBroker ? `mqtt-qos-lab/${machine}/sample_topic` : DEFAULT_TOPIC);
  const problem = role === 'publish' ? topicNameProblem(topic) : topicFilterProblem(topic);
  if (problem) throw new UsageError(`--topic '${printable(topic)}': ${problem}`);

  const clientId = single(raw, 'client-id') ?? `mqtt-qos-lab-${role === 'publish' ? 'pub' : 'sub'}-${machine}`;
  if (clientId.length === 0) throw new UsageError('--client-id cannot be empty');

  const protocolText = single(raw, 'protocol') ?? '3.1.1';
  const protocol = PROTOCOLS[protocolText];
  if (!protocol) throw new UsageError(`--protocol must be 3.1.1 or 5, got '${protocolText}'`);

  const username = single(raw, 'username') ?? (env.MQTT_USERNAME || undefined);
  const password = single(raw, 'password') ?? (env.MQTT_PASSWORD || undefined);
  if (password !== undefined && username === undefined) {
    throw new UsageError('--password needs --username (MQTT 3.1.1 sends a password only with a user name)');
  }

  return {
    connection: { url, clientId, clean: Boolean(raw.clean), protocol, username, password, tls: tlsOptions(raw, url) },
    output: { ...display(raw), log: raw.log === 'stderr' ? 'stderr' : 'stdout', json: filePath(raw, 'json') },
    topic,
    qos,
  };
}

function display(raw: Record<string, unknown>): Pick<OutputOptions, 'verbose' | 'color'> {
  return { verbose: Boolean(raw.verbose), color: raw.color !== false };
}

export type BrokerEngine = 'aedes' | 'mosquitto';

export interface BrokerCliOptions {
  engine: BrokerEngine;
  host: string;
  port: number;
  /** Clients must connect with these; undefined lets anyone in. */
  credentials?: { username: string; password: string };
  /** No packet lines: the tap stays off. */
  quiet: boolean;
  display: Pick<OutputOptions, 'verbose' | 'color'>;
}

export function parseBroker(argv: string[]): Parsed<BrokerCliOptions> {
  const raw = parseRaw(
    'npm run broker --',
    'Run an MQTT broker (the embedded aedes, or mosquitto behind a packet tap) and print every packet it sends and receives, per client.',
    argv,
    (y) =>
      displayOptions(y)
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (loopback by default)' })
        .option('port', { alias: 'p', type: 'string', default: '1883', describe: 'port to listen on (0 picks a free one)' })
        .option('engine', { type: 'string', choices: ['aedes', 'mosquitto'], default: 'aedes', describe: 'aedes (embedded, MQTT 3.1.1) or mosquitto (installed, MQTT 3.1.1 and 5)' })
        .option('username', { alias: 'u', type: 'string', describe: 'require this user name (with --password)' })
        .option('password', { alias: 'P', type: 'string', describe: 'require this password (with --username); never printed' })
        .option('quiet', { type: 'boolean', default: false, describe: 'print no packet lines (for load tests)' }),
  );
  if (!raw) return { kind: 'shown' };
  const port = integer('port', single(raw, 'port') ?? '1883', 0);
  if (port > 65535) throw new UsageError(`--port must be 0 to 65535, got '${port}'`);
  const username = single(raw, 'username');
  const password = single(raw, 'password');
  if ((username === undefined) !== (password === undefined)) throw new UsageError('--username and --password go together: give both or neither');
  return {
    kind: 'run',
    options: {
      engine: raw.engine === 'mosquitto' ? 'mosquitto' : 'aedes',
      host: single(raw, 'host') ?? '127.0.0.1',
      port,
      credentials: username === undefined || password === undefined ? undefined : { username, password },
      quiet: Boolean(raw.quiet),
      display: display(raw),
    },
  };
}

export interface LabCliOptions {
  display: Pick<OutputOptions, 'verbose' | 'color'>;
  lab: LabOptions;
  json?: string;
  mermaid?: string;
}

export const DEFAULT_LAB_TOPIC = 'qos-lab';

export function parseLab(argv: string[]): Parsed<LabCliOptions> {
  const raw = parseRaw(
    'npm start --',
    'The QoS lab: for each (publish QoS, subscription QoS) pair, a real publisher and subscriber through a broker, every packet of both legs on one timeline, then the matrix of the QoS actually delivered.',
    argv,
    (y) =>
      traceOption(displayOptions(y))
        .option('broker', { alias: 'b', type: 'string', describe: 'run against this broker (URL or host[:port]) instead of the embedded aedes broker; its lane is then derived from the client legs' })
        .option('protocol', { alias: 'V', type: 'string', default: '3.1.1', describe: 'MQTT version of both clients: 3.1.1 or 5 (5 needs --broker: aedes speaks 3.1.1 only)' })
        .option('pub', { type: 'string', default: '0,1,2', describe: 'publish QoS levels to run, e.g. 2 or 1,2' })
        .option('sub', { type: 'string', default: '0,1,2', describe: 'subscription QoS levels to run, e.g. 1 or 0,2' })
        .option('topic', { alias: 't', type: 'string', default: DEFAULT_LAB_TOPIC, describe: 'topic prefix: each pair uses <topic>/pub<P>-sub<S>' })
        .option('message', { alias: 'm', type: 'string', default: DEFAULT_MESSAGE, describe: 'payload to publish' })
        .option('mermaid', { type: 'string', describe: 'also write a Mermaid sequenceDiagram per pair to FILE (Markdown)' }),
  );
  if (!raw) return { kind: 'shown' };
  const broker = single(raw, 'broker');
  const protocolText = single(raw, 'protocol') ?? '3.1.1';
  const protocol = PROTOCOLS[protocolText];
  if (!protocol) throw new UsageError(`--protocol must be 3.1.1 or 5, got '${protocolText}'`);
  if (protocol === 5 && broker === undefined) throw new UsageError('--protocol 5 needs --broker: the embedded aedes broker speaks MQTT 3.1.1 only');
  const topic = single(raw, 'topic') ?? DEFAULT_LAB_TOPIC;
  const problem = topicNameProblem(topic);
  if (problem) throw new UsageError(`--topic '${printable(topic)}': ${problem}`);
  return {
    kind: 'run',
    options: {
      display: display(raw),
      lab: {
        url: broker === undefined ? undefined : brokerUrl(broker),
        protocol,
        pubs: qosList('pub', single(raw, 'pub') ?? '0,1,2'),
        subs: qosList('sub', single(raw, 'sub') ?? '0,1,2'),
        topic,
        message: single(raw, 'message') ?? DEFAULT_MESSAGE,
      },
      json: filePath(raw, 'json'),
      mermaid: filePath(raw, 'mermaid'),
    },
  };
}

/** `1,2` → [1, 2]: QoS levels in the order 0, 1, 2, each once. */
function qosList(flag: string, text: string): QoS[] {
  const levels = text.split(',').map((part) => {
    const qos = parseQos(part);
    if (qos === null) throw new UsageError(`--${flag} must be QoS levels 0, 1 or 2 (e.g. 2 or 0,2), got '${printable(text)}'`);
    return qos;
  });
  return [0, 1, 2].filter((q): q is QoS => levels.includes(q as QoS));
}

/** A file name option: absent, or a non-empty path. */
function filePath(raw: Record<string, unknown>, flag: string): string | undefined {
  const path = single(raw, flag);
  if (path !== undefined && path.trim() === '') throw new UsageError(`--${flag} needs a file name`);
  return path;
}

const PROTOCOLS: Record<string, ProtocolVersion> = { '3.1.1': 4, '4': 4, '5': 5, '5.0': 5 };

/** Turns --broker into a URL: a preset name, host[:port], or a full URL with a known scheme. */
export function brokerUrl(value: string): string {
  const preset = PUBLIC_BROKERS[value.toLowerCase()];
  if (preset) return preset;
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `mqtt://${value}`;
  // new URL() drops an explicit port 0 and rejects > 65535 as "invalid": read the port from the text.
  const authority = text.split('://')[1]?.split('/')[0] ?? '';
  const port = /:(\d+)$/.exec(authority)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw new UsageError(`--broker '${value}': port must be 1 to 65535, got ${port}`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--broker '${value}' is not a valid URL or host`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (!SCHEMES.includes(scheme)) throw new UsageError(`--broker '${value}': unknown scheme '${scheme}', use ${SCHEMES.join(', ')}`);
  if (!url.hostname) throw new UsageError(`--broker '${value}' names no host`);
  const badHost = hostProblem(url.hostname);
  if (badHost) throw new UsageError(`--broker '${value}': ${badHost}`);
  if (url.username || url.password) throw new UsageError(`--broker '${scrub(url)}': pass credentials with --username and --password, not in the URL`);
  return url.toString().replace(/\/$/, '');
}

function scrub(url: URL): string {
  const copy = new URL(url.toString());
  copy.password = copy.password ? '***' : '';
  return copy.toString();
}

/** A short, stable tag for this machine and user, so default ids and topics do not collide on public brokers. */
function machineTag(): string {
  let user = '';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers): the host name alone still separates machines
  }
  return createHash('sha256').update(`${hostname()}\0${user}`).digest('hex').slice(0, 8);
}

/** A flag given twice is an error rather than a silent "last one wins". */
function single(raw: Record<string, unknown>, flag: string): string | undefined {
  const value = raw[flag];
  if (Array.isArray(value)) throw new UsageError(`--${flag} was given ${value.length} times; give it once`);
  return value === undefined ? undefined : String(value);
}

function integer(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${flag} must be a whole number of at least ${min}, got '${text}'`);
  }
  return value;
}

function seconds(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${flag} must be a number of seconds above 0, got '${text}'`);
  }
  return value;
}

/** Shows control characters in an error line as escapes, so the line stays one line. */
function printable(text: string): string {
  const shown = JSON.stringify(text).slice(1, -1);
  return shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
}

/** --fault: both tools have it; it needs a plain TCP broker because the proxy forwards TCP. */
function faultOption(y: Argv): Argv {
  return y.option('fault', {
    type: 'string',
    describe: `cut the connection through a loopback proxy, then reconnect (same id) and resend: ${FAULT_SYNTAX}`,
  });
}

function validateFault(raw: Record<string, unknown>, url: string): FaultSpec | undefined {
  const text = single(raw, 'fault');
  if (text === undefined) return undefined;
  const fault = parseFault(text);
  if (typeof fault === 'string') throw new UsageError(`--fault ${fault}`);
  if (!url.startsWith('mqtt://')) throw new UsageError(`--fault needs an mqtt:// broker (the proxy forwards plain TCP), got '${url}'`);
  return fault;
}

/** --broker for the commands that start their own broker on loopback. */
function labBrokerOption(y: Argv): Argv {
  return y.option('broker', {
    alias: 'b',
    type: 'string',
    default: 'aedes',
    describe: `which broker to start on loopback: ${BROKER_KINDS.join(' or ')} (mosquitto must be installed)`,
  });
}

export const SCENARIOS = ['offline'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioCliOptions {
  name: ScenarioName;
  broker: BrokerKind;
  display: Pick<OutputOptions, 'verbose' | 'color'>;
}

export function parseScenario(argv: string[]): Parsed<ScenarioCliOptions> {
  const raw = parseRaw('npm run scenario --', `Run a scenario against a broker started on loopback. Scenarios: ${SCENARIOS.join(', ')}.`, argv, (y) =>
    // Unknown flags stay errors; the scenario's name is a positional word.
    labBrokerOption(displayOptions(y)).strict(false).strictOptions(),
  );
  if (!raw) return { kind: 'shown' };
  const names = (raw._ as unknown[]).map(String);
  if (names.length !== 1) throw new UsageError(`name one scenario (${SCENARIOS.join(', ')}), got ${names.length === 0 ? 'none' : `'${names.join(' ')}'`}`);
  const name = names[0]!;
  if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`unknown scenario '${printable(name)}', use ${SCENARIOS.join(', ')}`);
  return { kind: 'run', options: { name: name as ScenarioName, broker: labBroker(raw), display: display(raw) } };
}

export function parseChaos(argv: string[]): Parsed<ChaosOptions> {
  const raw = parseRaw(
    'npm run chaos --',
    'Send numbered messages at each QoS through a proxy that keeps cutting the connections, and count what arrived: lost, duplicated, out of order.',
    argv,
    (y) =>
      labBrokerOption(y)
        .option('count', { alias: 'n', type: 'string', default: '10000', describe: 'messages per QoS level' })
        .option('qos', { alias: 'q', type: 'string', default: '0,1,2', describe: 'QoS levels to run, comma separated' })
        .option('cut', { type: 'string', default: '200-500', describe: 'cut every connection after MIN-MAX milliseconds (random, seeded)' })
        .option('seed', { type: 'string', default: '1', describe: 'seed for the cut times: the same seed cuts at the same moments' })
        .option('rate', { type: 'string', default: '2000', describe: 'messages per second at most, so each QoS level runs long enough to meet the cuts' })
        .option('burst', {
          type: 'boolean',
          default: false,
          describe: 'no cuts: the subscriber is offline while all messages are published, then comes back (shows a broker queue limit)',
        }),
  );
  if (!raw) return { kind: 'shown' };
  const qosText = single(raw, 'qos') ?? '0,1,2';
  const qos = qosText.split(',').map((q) => {
    const level = parseQos(q);
    if (level === null) throw new UsageError(`--qos must list 0, 1 or 2 (e.g. 0,1,2), got '${qosText}'`);
    return level;
  });
  const cutText = single(raw, 'cut') ?? '200-500';
  const fault = parseFault(`every:${cutText}`);
  if (typeof fault === 'string' || fault.kind !== 'every') throw new UsageError(`--cut must be MIN-MAX milliseconds with 1 <= MIN <= MAX, got '${cutText}'`);
  const seed = integer('seed', single(raw, 'seed') ?? '1', 0);
  if (seed > 0xffffffff) throw new UsageError(`--seed must be below 2^32, got '${seed}'`);
  return {
    kind: 'run',
    options: {
      broker: labBroker(raw),
      count: integer('count', single(raw, 'count') ?? '10000', 1),
      qos: [...new Set(qos)],
      cut: { minMs: fault.minMs, maxMs: fault.maxMs },
      seed,
      burst: Boolean(raw.burst),
      rate: integer('rate', single(raw, 'rate') ?? '2000', 1),
    },
  };
}

export const BENCH_TOOL = 'mqtt-qos-bench';
export const DEFAULT_BENCH_TOPIC = 'mqtt-qos-lab/bench';

export interface BenchOptions {
  /** undefined: an embedded aedes broker started for the run. */
  broker?: string;
  levels: QoS[];
  count: number;
  size: number;
  /** Most unacknowledged publishes at once; 0 for no limit. */
  window: number;
  /** Seconds without a delivery or an acknowledgement before a run ends and reports what is missing. */
  idle: number;
  topic: string;
  json: boolean;
  /** The subscriber stops reading after this many messages until the publisher is done. */
  stallAfter?: number;
  /** File to write every client packet line to (what tracing costs). */
  trace?: string;
}

export function parseBench(argv: string[]): Parsed<BenchOptions> {
  const raw = parseRaw(BENCH_TOOL, 'Measure what each QoS level costs: throughput, latency and end-to-end loss from a publisher to a subscriber.', argv, (y) =>
    y
      .option('broker', { alias: 'b', type: 'string', describe: 'broker URL or host[:port] (default: an embedded aedes broker on a free loopback port)' })
      .option('qos', { alias: 'q', type: 'string', default: '0,1,2', describe: 'QoS levels to run, comma-separated' })
      .option('count', { alias: 'n', type: 'string', default: '20000', describe: 'messages per QoS level' })
      .option('size', { alias: 's', type: 'string', default: '32', describe: 'payload bytes per message (holds the sequence number)' })
      .option('window', { alias: 'w', type: 'string', default: '20', describe: 'most unacknowledged messages in flight (like mosquitto_pub -M); 0 for no limit' })
      .option('idle', { type: 'string', default: '5', describe: 'seconds with no delivery or ack before a run stops and reports what is missing' })
      .option('topic', { alias: 't', type: 'string', default: DEFAULT_BENCH_TOPIC, describe: 'topic to publish and subscribe on' })
      .option('json', { type: 'boolean', default: false, describe: 'print results as JSON' })
      .option('stall-after', { type: 'string', describe: 'the subscriber stops reading after this many messages until the publisher is done (shows what a broker drops)' })
      .option('trace', { type: 'string', describe: 'write every packet of both clients to this file as JSON lines, the --json trace format (measures what tracing costs)' }),
  );
  if (!raw) return { kind: 'shown' };
  const brokerText = single(raw, 'broker');
  if (brokerText !== undefined && PUBLIC_BROKERS[brokerText.toLowerCase()]) {
    throw new UsageError(`--broker '${brokerText}': a bench floods its broker; run it against your own, not a public test broker`);
  }
  const levels = (single(raw, 'qos') ?? '0,1,2').split(',').map((text) => {
    const qos = parseQos(text);
    if (qos === null) throw new UsageError(`--qos must be 0, 1 or 2 (comma-separated), got '${text}'`);
    return qos;
  });
  const count = integer('count', single(raw, 'count') ?? '20000', 1);
  const size = integer('size', single(raw, 'size') ?? '32', 1);
  const digits = String(count - 1).length;
  if (size < digits) throw new UsageError(`--size must be at least ${digits} to hold sequence numbers up to ${count - 1}, got '${size}'`);
  const topic = single(raw, 'topic') ?? DEFAULT_BENCH_TOPIC;
  const problem = topicNameProblem(topic);
  if (problem) throw new UsageError(`--topic '${printable(topic)}': ${problem}`);
  const stallAfter = single(raw, 'stall-after');
  return {
    kind: 'run',
    options: {
      broker: brokerText === undefined ? undefined : brokerUrl(brokerText),
      levels: [...new Set(levels)],
      count,
      size,
      window: integer('window', single(raw, 'window') ?? '20', 0),
      idle: seconds('idle', single(raw, 'idle') ?? '5'),
      topic,
      json: Boolean(raw.json),
      stallAfter: stallAfter === undefined ? undefined : integer('stall-after', stallAfter, 1),
      trace: single(raw, 'trace'),
    },
  };
}

function labBroker(raw: Record<string, unknown>): BrokerKind {
  const kind = single(raw, 'broker') ?? 'aedes';
  if (!(BROKER_KINDS as readonly string[]).includes(kind)) throw new UsageError(`--broker must be ${BROKER_KINDS.join(' or ')}, got '${printable(kind)}'`);
  return kind as BrokerKind;
}

export interface CompareOptions {
  levels: QoS[];
  count: number;
  size: number;
  window: number;
  rounds: number;
}

/** `npm run bench:compare`: our bench and the C client against one mosquitto. */
export function parseCompare(argv: string[]): Parsed<CompareOptions> {
  const raw = parseRaw('npm run bench:compare --', 'Run this bench and the C client (mosquitto_pub -l, mosquitto_sub -C) against one mosquitto, alternating, and print the ratio per QoS.', argv, (y) =>
    y
      .option('qos', { alias: 'q', type: 'string', default: '0,1,2', describe: 'QoS levels, comma-separated' })
      .option('count', { alias: 'n', type: 'string', default: '20000', describe: 'messages per run' })
      .option('size', { alias: 's', type: 'string', default: '32', describe: 'payload bytes per message' })
      .option('window', { alias: 'w', type: 'string', default: '20', describe: 'in-flight window for both clients (mosquitto_pub -M)' })
      .option('rounds', { alias: 'r', type: 'string', default: '3', describe: 'runs of each client per QoS, alternating' }),
  );
  if (!raw) return { kind: 'shown' };
  const bench = parseBench(['--qos', single(raw, 'qos') ?? '0,1,2', '--count', single(raw, 'count') ?? '20000', '--size', single(raw, 'size') ?? '32']);
  if (bench.kind !== 'run') return bench;
  const window = integer('window', single(raw, 'window') ?? '20', 1);
  // mosquitto_pub -M accepts 1 to 65535: there is no unbounded window to compare with.
  if (window > 65535) throw new UsageError(`--window must be 1 to 65535 (mosquitto_pub -M), got '${window}'`);
  const { levels, count, size } = bench.options;
  return { kind: 'run', options: { levels, count, size, window, rounds: integer('rounds', single(raw, 'rounds') ?? '3', 1) } };
}

/** `npm run bench:startup`: how many timed runs of each command. */
export function parseStartup(argv: string[]): Parsed<{ runs: number }> {
  const raw = parseRaw('npm run bench:startup --', 'Time process start to PUBACK to exit for the compiled bin, the ts-node lesson path and MQTT.js\'s own bin.', argv, (y) =>
    y.option('runs', { alias: 'r', type: 'string', default: '10', describe: 'timed runs of each command, alternating' }),
  );
  if (!raw) return { kind: 'shown' };
  return { kind: 'run', options: { runs: integer('runs', single(raw, 'runs') ?? '10', 1) } };
}

/** What is wrong with a host name (RFC 1123 letters, digits, '-', '.'; '_' too, as container names use it), or null. */
function hostProblem(host: string): string | null {
  if (host.startsWith('[')) return null; // an IPv6 literal: new URL() has checked it
  const bad = host.match(/[^a-z0-9._-]/i)?.[0];
  if (bad !== undefined) return `host '${host}' contains '${bad}', which a host name cannot contain`;
  if (host.split('.').some((label) => label === '' || label.startsWith('-') || label.endsWith('-'))) {
    return `host '${host}' is not a valid host name (empty label, or one starting or ending with '-')`;
  }
  return null;
}

/** --ca/--cert/--key/--insecure: read the files now, so a missing one is a usage error before any connection. */
function tlsOptions(raw: Record<string, unknown>, url: string): TlsOptions | undefined {
  const files = { ca: single(raw, 'ca'), cert: single(raw, 'cert'), key: single(raw, 'key') };
  const given = [...Object.entries(files).filter(([, v]) => v !== undefined).map(([k]) => k), ...(raw.insecure ? ['insecure'] : [])];
  if (!/^(mqtts|wss):/.test(url)) {
    if (given.length > 0) throw new UsageError(`--${given[0]} needs a TLS broker URL (mqtts:// or wss://), got '${url}'`);
    return undefined;
  }
  if ((files.cert === undefined) !== (files.key === undefined)) throw new UsageError('--cert and --key go together: give both or neither');
  return {
    ca: files.ca === undefined ? undefined : readInput('ca', files.ca),
    cert: files.cert === undefined ? undefined : readInput('cert', files.cert),
    key: files.key === undefined ? undefined : readInput('key', files.key),
    verify: !raw.insecure,
  };
}

/** Reads a file named by a flag; any failure is one line naming the flag, the path and why. */
function readInput(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new UsageError(`--${flag} '${printable(path)}': cannot read it: ${why}`);
  }
}

export interface LoadCliOptions {
  seconds: number;
  rate: number;
  qos: QoS;
  engine: BrokerEngine;
}

/** npm run load: the subscriber under a steady stream of messages. */
export function parseLoad(argv: string[], mosquittoInstalled: boolean): Parsed<LoadCliOptions> {
  const raw = parseRaw('npm run load --', 'Send the subscriber a steady stream of messages and report received, lost and its memory.', argv, (y) =>
    y
      .option('seconds', { alias: 's', type: 'string', default: '60', describe: 'how long to publish' })
      .option('rate', { type: 'string', default: '20000', describe: 'messages per second' })
      .option('qos', { alias: 'q', type: 'string', default: '1', describe: 'QoS of publish and subscription: 0, 1 or 2' })
      .option('engine', { type: 'string', choices: ['aedes', 'mosquitto'], describe: 'broker (default: mosquitto when installed, else aedes)' }),
  );
  if (!raw) return { kind: 'shown' };
  const qos = qosFlag(raw, '1');
  const engine = single(raw, 'engine') ?? (mosquittoInstalled ? 'mosquitto' : 'aedes');
  if (engine === 'mosquitto' && !mosquittoInstalled) throw new UsageError("--engine mosquitto: mosquitto is not installed (bash scripts/install-mosquitto.sh)");
  return {
    kind: 'run',
    options: { seconds: integer('seconds', single(raw, 'seconds') ?? '60', 1), rate: integer('rate', single(raw, 'rate') ?? '20000', 1), qos, engine: engine === 'mosquitto' ? 'mosquitto' : 'aedes' },
  };
}

function qosFlag(raw: Record<string, unknown>, fallback: string): QoS {
  const text = single(raw, 'qos') ?? fallback;
  const qos = parseQos(text);
  if (qos === null) throw new UsageError(`--qos must be 0, 1 or 2, got '${text}'`);
  return qos;
}
