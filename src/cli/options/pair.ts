// publish-with-qos and subscribe-with-qos: the options they share, defined
// once, and what each adds. A flag of the other tool is an unknown option.
import type { Argv } from 'yargs';
import type { QoS } from '../../mqtt/qos';
import { topicFilterProblem, topicNameProblem } from '../../mqtt/topic';
import { CONNECT_TIMEOUT_MS, type ConnectionOptions, type ProtocolVersion } from '../../mqtt/connection';
import { machineTag } from './client-id';
import { connectionOptions, connectionSettings, protocolFlag, protocolOption } from './connection';
import type { FaultSpec } from '../../wire/fault';
import { UsageError } from '../errors';
import { brokerUrl, DEFAULT_BROKER, isPublicBrokerHost, PUBLIC_NAMES, urlHost } from './broker-url';
import { ackPackets, COMMANDS, defaulted, display, displayOptions, faultOption, integer, milliseconds, mqttString, parseRaw, printable, qosFlag, seconds, single, traceFlag, traceOption, validateFault, type Display, type Parsed, type TraceFile } from './parse';
import { MAX_PACKET_BYTES, readBounded } from './input';
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
  /** --trace FILE (or --json FILE, its old spelling): also write every packet as JSON lines there. */
  trace?: TraceFile;
}

export interface CommonOptions {
  connection: ConnectionOptions;
  output: OutputOptions;
  topic: string;
  qos: QoS;
  /** --fault: go through a loopback fault proxy and reconnect after each cut. */
  fault?: FaultSpec;
  /** --ack-timeout in milliseconds: the wait for each PUBACK, PUBREC, PUBCOMP and SUBACK. */
  ackTimeoutMs?: number;
}

/** The publisher's own options are its job (src/mqtt/publisher.ts), on top of the shared ones. */
export interface PublishOptions extends CommonOptions, PublishJob {}

export interface SubscribeOptions extends CommonOptions {
  /** Exit after this many messages; undefined runs until Ctrl-C. */
  count?: number;
  /** Seconds to wait before giving up with EXIT.timeout. */
  timeout?: number;
}

function sharedOptions(y: Argv): Argv {
  return connectionOptions(protocolOption(boundsOptions(traceOption(displayOptions(y)))))
    .option('broker', {
      alias: 'b',
      type: 'string',
      default: DEFAULT_BROKER,
      describe: `broker URL (mqtt://, mqtts://, ws://, wss://), host[:port], or a public test broker: ${PUBLIC_NAMES.join(', ')} (a bare name is a host)`,
    })
    .option('topic', { alias: 't', type: 'string', describe: `topic (default ${DEFAULT_TOPIC}; namespaced per machine on a public broker)` })
    .option('qos', { alias: 'q', type: 'string', default: DEFAULT_QOS, describe: 'QoS level: 0, 1 or 2' })
    .option('client-id', { alias: 'i', type: 'string', describe: 'client id (default: stable per tool and machine, so a --no-clean session survives a restart)' })
    .option('clean', { type: 'boolean', default: false, describe: 'start a clean session (--no-clean, the default, keeps the session on the broker)' })
    .option('log', { type: 'string', choices: ['stdout', 'stderr'], default: 'stdout', describe: 'where packet lines go; stderr leaves stdout to payloads' });
}

function publishOptions(y: Argv): Argv {
  return y
    .option('message', { alias: 'm', type: 'string', describe: `payload to publish (default ${DEFAULT_MESSAGE})` })
    .option('file', { alias: 'f', type: 'string', describe: 'publish the contents of this file as the payload' })
    .conflicts('message', 'file')
    .option('count', { alias: 'n', type: 'string', default: DEFAULT_COUNT, describe: 'how many messages to publish' })
    .option('interval', { type: 'string', default: DEFAULT_INTERVAL, describe: 'milliseconds between messages' })
    .option('retain', { alias: 'r', type: 'boolean', default: false, describe: 'set the RETAIN flag' });
}

function subscribeOptions(y: Argv): Argv {
  return y
    .option('count', { alias: 'n', type: 'string', describe: 'exit after this many messages (default: run until Ctrl-C)' })
    .option('timeout', { alias: 'W', type: 'string', describe: 'give up after this many seconds with exit code 4 if the messages did not arrive' });
}

export function parsePublish(argv: string[], env = process.env): Parsed<PublishOptions> {
  const raw = parseRaw(TOOL_NAMES.publish, 'Publish at a QoS level and print every MQTT packet sent and received.', argv, (y) => faultOption(publishOptions(sharedOptions(y))));
  if (!raw) return { kind: 'shown' };
  const common = validateCommon('publish', raw, env);
  const file = single(raw, 'file');
  const limit = maxPayload(common.topic, common.qos, common.connection.protocol);
  const why = `an MQTT packet holds at most ${MAX_PACKET_BYTES} bytes, which leaves ${limit} for a payload with this topic and QoS`;
  // Payloads are bytes: a file goes out exactly as it is on disk (never decoded as UTF-8).
  const message = file === undefined ? (single(raw, 'message') ?? DEFAULT_MESSAGE) : readBounded('file', file, limit, why);
  if (typeof message === 'string' && Buffer.byteLength(message) > limit) throw new UsageError(`--message is ${Buffer.byteLength(message)} bytes: ${why}`);
  return {
    kind: 'run',
    options: {
      ...common,
      message,
      count: integer('count', defaulted(raw, 'count'), 1),
      interval: milliseconds('interval', defaulted(raw, 'interval'), 0),
      retain: Boolean(raw.retain),
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
  const timeoutMs = timeout === undefined ? undefined : seconds('timeout', timeout) * 1000;
  return {
    kind: 'run',
    options: {
      ...common,
      // --timeout covers the connection too: CONNACK must come within it.
      connection: { ...common.connection, ...(timeoutMs !== undefined && { connectTimeoutMs: Math.min(timeoutMs, common.connection.connectTimeoutMs ?? CONNECT_TIMEOUT_MS) }) },
      count: count === undefined ? undefined : integer('count', count, 1),
      timeout: timeout === undefined ? undefined : seconds('timeout', timeout),
    },
  };
}

function validateCommon(role: Role, raw: Record<string, unknown>, env: NodeJS.ProcessEnv): CommonOptions {
  const qos = qosFlag(raw);

  const url = brokerUrl(defaulted(raw, 'broker'));
  const machine = machineTag(env);
  const onPublicBroker = isPublicBrokerHost(urlHost(url));

  const topic = single(raw, 'topic') ?? (onPublicBroker ? `mqtt-qos-lab/${machine}/sample_topic` : DEFAULT_TOPIC);
  const problem = role === 'publish' ? topicNameProblem(topic) : topicFilterProblem(topic);
  if (problem) throw new UsageError(`--topic '${printable(topic)}': ${problem}`);

  const clientId = single(raw, 'client-id') ?? `mqtt-qos-lab-${role === 'publish' ? 'pub' : 'sub'}-${machine}`;
  if (clientId.length === 0) throw new UsageError('--client-id cannot be empty');
  mqttString('--client-id', clientId);

  const protocol = protocolFlag(raw);
  const ackTimeoutMs = seconds('ack-timeout', defaulted(raw, 'ack-timeout')) * 1000;

  return {
    ackTimeoutMs,
    connection: { url, clientId, clean: Boolean(raw.clean), protocol, ...connectionSettings(raw, url, env), ...connectionBounds(raw, protocol, Boolean(raw.clean), ackTimeoutMs) },
    output: { ...display(raw), log: raw.log === 'stderr' ? 'stderr' : 'stdout', trace: traceFlag(raw) },
    topic,
    qos,
    fault: validateFault(raw, url, role === 'publish' ? ackPackets(qos) : subscriberAcks(qos)),
  };
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
  const expiry = given === undefined ? undefined : integer('session-expiry', given, 0);
  if (expiry !== undefined && expiry > 0xffff_ffff) throw new UsageError(`--session-expiry must be at most 4294967295 seconds, got '${given}'`);
  const sessionExpiry = protocol === 5 ? (expiry ?? (clean ? undefined : DEFAULT_SESSION_EXPIRY_S)) : undefined;
  return { connectTimeoutMs, ...(sessionExpiry !== undefined && { sessionExpiry }) };
}
