// publish-with-qos and subscribe-with-qos: the options they share, defined
// once, and what each adds. A flag of the other tool is an unknown option.
import { isIP } from 'node:net';
import type { Argv } from 'yargs';
import type { QoS } from '../../mqtt/qos';
import { topicFilterProblem, topicNameProblem } from '../../mqtt/topic';
import { CONNECT_TIMEOUT_MS, type ConnectionOptions, type ProtocolVersion } from '../../mqtt/connection';
import { machineTag } from './client-id';
import { ALL_GROUPS, connectionOptions, connectionSettings, protocolFlag, protocolOption } from './connection';
import type { FaultSpec } from '../../wire/fault';
import { UsageError } from '../errors';
import { brokerUrl, DEFAULT_BROKER, hostProblem, isPublicBrokerHost, PUBLIC_NAMES, urlHost } from './broker-url';
import { ackPackets, COMMANDS, defaulted, display, displayOptions, faultOption, filePath, integer, milliseconds, mqttString, parseRaw, printable, qosFlag, seconds, single, validateFault, withExamples, type Display, type Example, type Parsed, type TraceFile } from './parse';
import { MAX_PACKET_BYTES, readBounded } from './input';
import { withHabits } from './habits';
import { DEFAULT_ACK_TIMEOUT_MS, type PublishJob } from '../../mqtt/publisher';

export type Role = 'publish' | 'subscribe';

export const TOOL_NAMES: Record<Role, string> = { publish: COMMANDS.publish, subscribe: COMMANDS.subscribe };

export const DEFAULT_TOPIC = 'home/sample_topic';

export const DEFAULT_MESSAGE = JSON.stringify({ data: 'test' });

const DEFAULT_QOS = '0';
const DEFAULT_COUNT = '1';
const DEFAULT_INTERVAL = '1000';

export interface OutputOptions extends Display {
  /** Where packet lines and notes go; with 'stderr', stdout carries only received payloads. */
  log: 'stdout' | 'stderr';
  /** --trace FILE: also write every packet as JSON lines there. */
  trace?: TraceFile;
}

export interface CommonOptions {
  connection: ConnectionOptions;
  output: OutputOptions;
  qos: QoS;
  /** --fault: go through a loopback fault proxy and reconnect after each cut. */
  fault?: FaultSpec;
  /** --ack-timeout in milliseconds: the wait for each PUBACK, PUBREC, PUBCOMP and SUBACK. */
  ackTimeoutMs?: number;
}

/**
 * Where the payload comes from: given on the command line (-m, -f FILE, -n),
 * all of stdin as one message (-s, -f -), or one message per stdin line (-l).
 * `limit` is the most a payload may hold with this topic and QoS, `why` says so.
 */
export type PayloadSource = { kind: 'given'; message: string | Buffer } | { kind: 'stdin' | 'lines'; limit: number; why: string; flag: string };

/** The publisher's own options are its job (src/mqtt/publisher.ts), on top of the shared ones. */
export interface PublishOptions extends CommonOptions, Omit<PublishJob, 'message'> {
  source: PayloadSource;
}

export interface SubscribeOptions extends CommonOptions {
  /** -t, once or several times: one SUBSCRIBE for all of them. */
  topics: string[];
  /** Exit after this many messages; undefined runs until Ctrl-C. */
  count?: number;
  /** Seconds to wait before giving up with EXIT.timeout. */
  timeout?: number;
  /** --json: each message as one JSON object per line on stdout (packet lines go to stderr). */
  json: boolean;
}

function sharedOptions(y: Argv): Argv {
  return connectionOptions(protocolOption(boundsOptions(traceOption(displayOptions(y)))), [...ALL_GROUPS, 'will'])
    .alias('verbose', 'd')
    .option('broker', {
      alias: 'b',
      type: 'string',
      describe: `broker URL (mqtt://, mqtts://, ws://, wss://), host[:port], or a public test broker: ${PUBLIC_NAMES.join(', ')} (a bare name is a host) [default: ${DEFAULT_BROKER}]`,
    })
    .option('host', { alias: 'h', type: 'string', describe: 'broker host, as mosquitto_pub -h (instead of --broker; TLS with --ca, --cert or --insecure)' })
    .option('port', { alias: 'p', type: 'string', describe: 'broker port, as mosquitto_pub -p (default 1883, 8883 with TLS)' })
    .option('topic', { alias: 't', type: 'string', describe: `topic (default ${DEFAULT_TOPIC}; namespaced per machine on a public broker)` })
    .option('qos', { alias: 'q', type: 'string', default: DEFAULT_QOS, describe: 'QoS level: 0, 1 or 2' })
    .option('client-id', { alias: 'i', type: 'string', describe: 'client id (default: stable per tool and machine, so a --no-clean session survives a restart)' })
    .option('clean', { type: 'boolean', default: false, describe: 'start a clean session (--no-clean, the default, keeps the session on the broker)' })
    .option('persistent', { alias: 'c', type: 'boolean', default: false, describe: "keep the session (mosquitto's -c): already the default here" })
    .option('log', { type: 'string', choices: ['stdout', 'stderr'], default: 'stdout', describe: 'where packet lines go; stderr leaves stdout to payloads' });
}

/** --trace FILE, without the tools' old --json FILE spelling (on subscribe --json is now the message format). */
function traceOption(y: Argv): Argv {
  return y.option('trace', { type: 'string', describe: 'also write every packet to FILE as JSON lines (one object per packet; never a password); FILE - is stdout, the other lines then go to stderr' });
}

function publishOptions(y: Argv): Argv {
  return y
    .option('message', { alias: 'm', type: 'string', describe: `payload to publish (default ${DEFAULT_MESSAGE})` })
    .option('file', { alias: 'f', type: 'string', describe: 'publish the contents of this file as the payload (- for stdin)' })
    .option('stdin', { alias: 's', type: 'boolean', default: false, describe: 'publish all of stdin as one message' })
    .option('lines', { alias: 'l', type: 'boolean', default: false, describe: 'publish each line of stdin as a message, as it comes, until end of input' })
    .option('empty', { alias: 'n', type: 'boolean', default: false, describe: 'publish an empty (zero-length) payload' })
    .option('repeat', { alias: 'count', type: 'string', default: DEFAULT_COUNT, describe: 'how many times to publish the message' })
    .option('interval', { type: 'string', default: DEFAULT_INTERVAL, describe: 'milliseconds between messages' })
    .option('repeat-delay', { type: 'string', describe: "seconds between messages (mosquitto_pub's spelling of --interval)" })
    .option('retain', { alias: 'r', type: 'boolean', default: false, describe: 'set the RETAIN flag' });
}

export const PUBLISH_EXAMPLES: readonly Example[] = [
  ['$0 -t home/lamp -m on -q 1', 'publish "on" at QoS 1 to the broker on localhost'],
  ['$0 -h 127.0.0.1 -p 1884 -t home/lamp -f package.json', 'a file as the payload, byte for byte, to another port'],
  ['tail -f log.txt | $0 -t logs -l -q 2', 'each line of stdin as a message, at QoS 2'],
  ['$0 -t home/lamp -n -r', 'clear the retained message of a topic'],
];

function subscribeOptions(y: Argv): Argv {
  return y
    .option('count', { alias: 'C', type: 'string', describe: 'exit after this many messages (default: run until Ctrl-C)' })
    .option('timeout', { alias: 'W', type: 'string', describe: 'give up after this many seconds with exit code 4 if the messages did not arrive' })
    .option('json', { type: 'boolean', default: false, describe: 'print each message as one JSON object per line on stdout (topic, qos, retain, payload, time); packet lines go to stderr' });
}

export const SUBSCRIBE_EXAMPLES: readonly Example[] = [
  ['$0 -t home/lamp -q 1', 'subscribe at QoS 1 and print every packet'],
  ["$0 -t 'home/#' -t alerts -C 5", 'two topic filters, exit after 5 messages'],
  ['$0 -t home/lamp --json -W 30 | jq .payload', 'messages as JSON lines for jq; give up after 30 s'],
];

const PUBLISH_ABOUT = 'Publish at a QoS level and print every MQTT packet sent and received.';
const SUBSCRIBE_ABOUT = 'Subscribe at a QoS level and print every MQTT packet, and the QoS each message really came at.';

export function parsePublish(argv: string[], env = process.env): Parsed<PublishOptions> {
  const raw = withHabits('publish', argv, () => parseRaw(TOOL_NAMES.publish, PUBLISH_ABOUT, argv, (y) => withExamples(faultOption(publishOptions(sharedOptions(y))), PUBLISH_EXAMPLES)));
  if (!raw) return { kind: 'shown' };
  const topic = single(raw, 'topic');
  const common = validateCommon('publish', raw, topic === undefined ? [] : [topic], env);
  const limit = maxPayload(common.topics[0]!, common.qos, common.connection.protocol);
  const why = `an MQTT packet holds at most ${MAX_PACKET_BYTES} bytes, which leaves ${limit} for a payload with this topic and QoS`;
  const source = payloadSource(raw, limit, why);
  const repeat = single(raw, 'repeat');
  if (source.kind === 'lines' && argv.some((a) => /^--(repeat|count)(=|$)/.test(a))) throw new UsageError('--repeat does not go with -l/--lines: each line of stdin is one message');
  const delay = single(raw, 'repeat-delay');
  if (delay !== undefined && argv.some((a) => /^--interval(=|$)/.test(a))) throw new UsageError('--repeat-delay is --interval in seconds: give one of them');
  // The gap is between repeats of one message; lines go out as they come (mosquitto_pub -l ignores it silently).
  const gap = delay !== undefined ? '--repeat-delay' : argv.some((a) => /^--interval(=|$)/.test(a)) ? '--interval' : undefined;
  if (source.kind === 'lines' && gap) throw new UsageError(`${gap} does not go with -l/--lines: each line of stdin is published as it comes`);
  const { topics, ...rest } = common;
  return {
    kind: 'run',
    options: {
      ...rest,
      topic: topics[0]!,
      source,
      count: integer(argv.some((a) => /^--count(=|$)/.test(a)) ? 'count' : 'repeat', repeat ?? DEFAULT_COUNT, 1),
      // mosquitto's --repeat-delay 0 (its default) is no gap, as --interval 0.
      interval: delay === undefined ? milliseconds('interval', defaulted(raw, 'interval'), 0) : delay.trim() === '0' ? 0 : Math.round(seconds('repeat-delay', delay) * 1000),
      retain: Boolean(raw.retain),
    },
  };
}

/** -m, -f FILE, -f -, -s, -l, -n: at most one; none publishes DEFAULT_MESSAGE. */
function payloadSource(raw: Record<string, unknown>, limit: number, why: string): PayloadSource {
  const message = single(raw, 'message');
  const file = single(raw, 'file');
  const given = [message !== undefined && '--message', file !== undefined && '--file', raw.stdin && '--stdin', raw.lines && '--lines', raw.empty && '--empty'].filter((f): f is string => typeof f === 'string');
  if (given.length > 1) throw new UsageError(`${given.join(' and ')}: give one payload (-m, -f, -s, -l or -n)`);
  if (raw.lines) return { kind: 'lines', limit, why, flag: '--lines' };
  if (raw.stdin || file === '-') return { kind: 'stdin', limit, why, flag: raw.stdin ? '--stdin' : '--file -' };
  if (raw.empty) return { kind: 'given', message: Buffer.alloc(0) };
  // Payloads are bytes: a file goes out exactly as it is on disk (never decoded as UTF-8).
  if (file !== undefined) return { kind: 'given', message: readBounded('file', file, limit, why) };
  const text = message ?? DEFAULT_MESSAGE;
  if (Buffer.byteLength(text) > limit) throw new UsageError(`--message is ${Buffer.byteLength(text)} bytes: ${why}`);
  return { kind: 'given', message: text };
}

export function parseSubscribe(argv: string[], env = process.env): Parsed<SubscribeOptions> {
  const raw = withHabits('subscribe', argv, () => parseRaw(TOOL_NAMES.subscribe, SUBSCRIBE_ABOUT, argv, (y) => withExamples(faultOption(subscribeOptions(sharedOptions(y))), SUBSCRIBE_EXAMPLES)));
  if (!raw) return { kind: 'shown' };
  const topics = raw.topic === undefined ? [] : ([] as unknown[]).concat(raw.topic).map(String);
  const common = validateCommon('subscribe', raw, topics, env);
  const count = single(raw, 'count');
  const timeout = single(raw, 'timeout');
  const timeoutMs = timeout === undefined ? undefined : seconds('timeout', timeout) * 1000;
  const json = Boolean(raw.json);
  if (json && argv.some((a) => /^--log(=|$)/.test(a)) && raw.log === 'stdout') throw new UsageError('--json puts the messages on stdout, so packet lines go to stderr: --log stdout does not go with it');
  if (json && common.output.trace?.path === '-') throw new UsageError('--json and --trace - both write to stdout: give --trace a file name');
  return {
    kind: 'run',
    options: {
      ...common,
      output: json ? { ...common.output, log: 'stderr' } : common.output,
      // --timeout covers the connection too: CONNACK must come within it.
      connection: { ...common.connection, ...(timeoutMs !== undefined && { connectTimeoutMs: Math.min(timeoutMs, common.connection.connectTimeoutMs ?? CONNECT_TIMEOUT_MS) }) },
      count: count === undefined ? undefined : integer('count', count, 1),
      timeout: timeout === undefined ? undefined : seconds('timeout', timeout),
      json,
    },
  };
}

/** -h/-p (mosquitto's) or --broker; the URL either way. */
function brokerFlag(raw: Record<string, unknown>): string {
  const broker = single(raw, 'broker');
  const host = single(raw, 'host');
  const port = single(raw, 'port');
  if (host === undefined && port === undefined) return brokerUrl(broker ?? DEFAULT_BROKER);
  if (broker !== undefined) throw new UsageError(`--broker and --${host === undefined ? 'port' : 'host'} both name the broker: give --broker URL, or -h HOST and -p PORT`);
  const tls = ['ca', 'cert', 'key'].some((f) => raw[f] !== undefined) || raw.insecure === true;
  const name = (host ?? 'localhost').trim().replace(/^\[(.*)\]$/, '$1');
  if (name === '') throw new UsageError('--host is empty: give a host name or address');
  if (/[/@]/.test(name) || (name.includes(':') && isIP(name) !== 6)) throw new UsageError(`--host '${printable(name)}' takes a host name or address; a URL or host:port goes in --broker`);
  const problem = hostProblem(name);
  if (problem) throw new UsageError(`--host: ${problem}`);
  const number = port === undefined ? (tls ? 8883 : 1883) : integer('port', port, 1);
  if (number > 65535) throw new UsageError(`--port must be 1 to 65535, got '${number}'`);
  return brokerUrl(`${tls ? 'mqtts' : 'mqtt'}://${isIP(name) === 6 ? `[${name}]` : name}:${number}`);
}

function validateCommon(role: Role, raw: Record<string, unknown>, given: string[], env: NodeJS.ProcessEnv): CommonOptions & { topics: string[] } {
  const qos = qosFlag(raw);

  const url = brokerFlag(raw);
  const machine = machineTag(env);
  const onPublicBroker = isPublicBrokerHost(urlHost(url));

  const topics = given.length > 0 ? given : [onPublicBroker ? `mqtt-qos-lab/${machine}/sample_topic` : DEFAULT_TOPIC];
  for (const topic of topics) {
    const problem = role === 'publish' ? topicNameProblem(topic) : topicFilterProblem(topic);
    if (problem) throw new UsageError(`--topic '${printable(topic)}': ${problem}`);
  }

  const clientId = single(raw, 'client-id') ?? `mqtt-qos-lab-${role === 'publish' ? 'pub' : 'sub'}-${machine}`;
  if (clientId.length === 0) throw new UsageError('--client-id cannot be empty');
  mqttString('--client-id', clientId);

  if (raw.persistent && raw.clean) throw new UsageError('-c/--persistent keeps the session and --clean drops it: give one');
  const protocol = protocolFlag(raw);
  const ackTimeoutMs = seconds('ack-timeout', defaulted(raw, 'ack-timeout')) * 1000;

  return {
    ackTimeoutMs,
    connection: { url, clientId, clean: Boolean(raw.clean), protocol, ...connectionSettings(raw, url, env), ...connectionBounds(raw, protocol, Boolean(raw.clean), ackTimeoutMs) },
    output: { ...display(raw), log: raw.log === 'stderr' ? 'stderr' : 'stdout', trace: traceFile(raw) },
    topics,
    qos,
    fault: validateFault(raw, url, role === 'publish' ? ackPackets(qos) : subscriberAcks(qos)),
  };
}

function traceFile(raw: Record<string, unknown>): TraceFile | undefined {
  const path = filePath(raw, 'trace');
  return path === undefined ? undefined : { path, flag: 'trace' };
}

/**
 * The acknowledgements on a subscriber's connection: none at 0; at 1 only
 * PUBACK; at 2 any of them (a QoS 1 publisher's messages arrive at 1).
 */
function subscriberAcks(qos: QoS): ('puback' | 'pubrec' | 'pubcomp')[] {
  return qos === 0 ? [] : qos === 1 ? ['puback'] : ['puback', 'pubrec', 'pubcomp'];
}

/** What is left of a PUBLISH packet's remaining length for the payload: topic (2 + bytes), packet id, MQTT 5's property length. */
function maxPayload(topic: string, qos: QoS, protocol: ProtocolVersion): number {
  return MAX_PACKET_BYTES - 2 - Buffer.byteLength(topic) - (qos > 0 ? 2 : 0) - (protocol === 5 ? 1 : 0);
}

// The bounds on every wait, and how long an MQTT 5 session outlives its connection (src/mqtt/connection.ts).
/** With --protocol 5 and --no-clean: the session is kept this long after we disconnect (an hour). */
const DEFAULT_SESSION_EXPIRY_S = 3600;

function boundsOptions(y: Argv): Argv {
  return y
    .option('ack-timeout', { type: 'string', default: String(DEFAULT_ACK_TIMEOUT_MS / 1000), describe: 'seconds to wait for CONNACK and for each PUBACK, PUBREC, PUBCOMP or SUBACK before giving up with exit code 4' })
    .option('session-expiry', {
      alias: 'x',
      type: 'string',
      describe: `MQTT 5: seconds the broker keeps the session after we disconnect (default ${DEFAULT_SESSION_EXPIRY_S} with --no-clean, 0 with --clean)`,
    });
}

/** --ack-timeout bounds CONNACK too: the connection's wait and the acknowledgements' are one flag. */
function connectionBounds(raw: Record<string, unknown>, protocol: ProtocolVersion, clean: boolean, connectTimeoutMs: number): Pick<ConnectionOptions, 'sessionExpiry' | 'connectTimeoutMs'> {
  const given = single(raw, 'session-expiry');
  if (given !== undefined && protocol !== 5) {
    throw new UsageError('--session-expiry needs --protocol 5 (in MQTT 3.1.1 a --no-clean session lasts until a --clean connection ends it)');
  }
  // mosquitto's -x -1 (or ∞): a session that never expires, the field's largest value.
  const expiry = given === undefined ? undefined : given === '-1' || given === '∞' ? 0xffff_ffff : integer('session-expiry', given, 0);
  if (expiry !== undefined && expiry > 0xffff_ffff) throw new UsageError(`--session-expiry must be at most 4294967295 seconds, got '${given}'`);
  const sessionExpiry = protocol === 5 ? (expiry ?? (clean ? undefined : DEFAULT_SESSION_EXPIRY_S)) : undefined;
  return { connectTimeoutMs, ...(sessionExpiry !== undefined && { sessionExpiry }) };
}
