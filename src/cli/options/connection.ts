// The connection flags, defined once: who we are to the broker (-u/-P), how
// we trust it (--ca/--cert/--key/--insecure), which MQTT we speak (-V), how
// often we ping (-k) and the Will (the tools). The tools, the lab, the bench,
// chaos and scenario take them from here, each the groups it can honour.
import type { Argv } from 'yargs';
import type { ConnectionSettings, ProtocolVersion, TlsOptions } from '../../mqtt/connection';
import { UsageError } from '../errors';
import { readCa, readClientIdentity } from './input';
import { defaulted, integer, MAX_STRING_BYTES, mqttString, printable, single } from './parse';
import { parseQos } from '../../mqtt/qos';
import { topicNameProblem } from '../../mqtt/topic';

/** The flag groups a command can take; each command takes those its connections can honour. */
export type ConnectionGroup = 'credentials' | 'tls' | 'keepalive' | 'will';

export const ALL_GROUPS: readonly ConnectionGroup[] = ['credentials', 'tls', 'keepalive'];

const DEFAULT_KEEPALIVE_S = 60;

/** Adds the groups' flags. */
export function connectionOptions(y: Argv, groups: readonly ConnectionGroup[] = ALL_GROUPS): Argv {
  let out = y;
  if (groups.includes('credentials')) {
    out = out
      .option('username', { alias: 'u', type: 'string', describe: 'user name (or MQTT_USERNAME)' })
      .option('password', { alias: 'P', type: 'string', describe: 'password (or MQTT_PASSWORD); never printed' });
  }
  if (groups.includes('tls')) {
    out = out
      .option('ca', { alias: 'cafile', type: 'string', describe: "CA certificate file (PEM) that signed the broker's certificate; with mqtts:// or wss://" })
      .option('cert', { type: 'string', describe: 'client certificate file (PEM), with --key; with mqtts:// or wss://' })
      .option('key', { type: 'string', describe: 'client private key file (PEM), with --cert' })
      .option('insecure', { type: 'boolean', default: false, describe: "do not verify the broker's certificate (TLS stays on; for self-signed test brokers only); with --ca, only its host name goes unchecked, as in mosquitto" });
  }
  if (groups.includes('keepalive')) {
    out = out.option('keepalive', {
      alias: 'k',
      type: 'string',
      default: String(DEFAULT_KEEPALIVE_S),
      describe: 'seconds of silence before a PINGREQ; no PINGRESP within half of it ends the run with exit code 4 (0: off)',
    });
  }
  if (groups.includes('will')) {
    out = out
      .option('will-topic', { type: 'string', describe: 'the Will: the broker publishes --will-payload on this topic if we vanish without DISCONNECT' })
      .option('will-payload', { type: 'string', describe: 'payload of the Will (default: empty)' })
      .option('will-qos', { type: 'string', describe: 'QoS of the Will: 0, 1 or 2 (default 0)' })
      .option('will-retain', { type: 'boolean', default: false, describe: 'retain the Will' });
  }
  return out;
}

/**
 * What the given flags say about every connection to `url` (a flag a command
 * does not declare reads as absent). Files are read now, so a missing one is
 * a usage error before any connection.
 */
export function connectionSettings(raw: Record<string, unknown>, url: string, env: NodeJS.ProcessEnv): ConnectionSettings {
  return { ...credentials(raw, env), ...tls(raw, url), ...keepalive(raw), ...will(raw) };
}

function credentials(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Pick<ConnectionSettings, 'username' | 'password'> {
  const username = single(raw, 'username') ?? (env.MQTT_USERNAME || undefined);
  const password = single(raw, 'password') ?? (env.MQTT_PASSWORD || undefined);
  if (username !== undefined) mqttString(single(raw, 'username') === undefined ? 'MQTT_USERNAME' : '--username', username);
  if (password !== undefined) mqttString(single(raw, 'password') === undefined ? 'MQTT_PASSWORD' : '--password', password, false);
  if (password !== undefined && username === undefined) {
    throw new UsageError('--password needs --username (MQTT 3.1.1 sends a password only with a user name)');
  }
  return { ...(username !== undefined && { username }), ...(password !== undefined && { password }) };
}

function tls(raw: Record<string, unknown>, url: string): { tls?: TlsOptions } {
  const files = { ca: single(raw, 'ca'), cert: single(raw, 'cert'), key: single(raw, 'key') };
  const given = [...Object.entries(files).filter(([, v]) => v !== undefined).map(([k]) => k), ...(raw.insecure ? ['insecure'] : [])];
  if (!/^(mqtts|wss):/.test(url)) {
    if (given.length > 0) throw new UsageError(`--${given[0]} needs a TLS broker URL (mqtts:// or wss://), got '${url}'`);
    return {};
  }
  if ((files.cert === undefined) !== (files.key === undefined)) throw new UsageError('--cert and --key go together: give both or neither');
  const identity = files.cert === undefined || files.key === undefined ? undefined : readClientIdentity(files.cert, files.key);
  // --insecure alone skips the check; with --ca it skips only the host name, as mosquitto's --insecure does (the CA is still the CA).
  const hostOnly = Boolean(raw.insecure) && files.ca !== undefined;
  return { tls: { ca: files.ca === undefined ? undefined : readCa(files.ca), ...identity, verify: !raw.insecure || hostOnly, ...(hostOnly && { checkHost: false }) } };
}

function will(raw: Record<string, unknown>): Pick<ConnectionSettings, 'will'> {
  const topic = single(raw, 'will-topic');
  const payload = single(raw, 'will-payload');
  const qosText = single(raw, 'will-qos');
  if (topic === undefined) {
    const stray = payload !== undefined ? 'will-payload' : qosText !== undefined ? 'will-qos' : raw['will-retain'] ? 'will-retain' : undefined;
    if (stray) throw new UsageError(`--${stray} needs --will-topic`);
    return {};
  }
  const problem = topicNameProblem(topic);
  if (problem) throw new UsageError(`--will-topic '${printable(topic)}': ${problem}`);
  // CONNECT carries the Will's payload with a two-byte length, like a string.
  if (payload !== undefined && Buffer.byteLength(payload) > MAX_STRING_BYTES) throw new UsageError(`--will-payload is ${Buffer.byteLength(payload)} bytes; CONNECT holds at most ${MAX_STRING_BYTES}`);
  const qos = qosText === undefined ? 0 : parseQos(qosText);
  if (qos === null) throw new UsageError(`--will-qos must be 0, 1 or 2, got '${printable(qosText ?? '')}'`);
  return { will: { topic, payload: Buffer.from(payload ?? ''), qos, retain: Boolean(raw['will-retain']) } };
}

function keepalive(raw: Record<string, unknown>): Pick<ConnectionSettings, 'keepalive'> {
  if (raw.keepalive === undefined) return {};
  const seconds = integer('keepalive', defaulted(raw, 'keepalive'), 0);
  if (seconds > 65_535) throw new UsageError(`--keepalive must be at most 65535 seconds (a 2-byte field in CONNECT), got '${seconds}'`);
  return { keepalive: seconds };
}

// -V: mosquitto's spellings (mqttv5, mqttv311, 5, 311) and ours (3.1.1, 5).
const PROTOCOLS: Record<string, ProtocolVersion> = { '3.1.1': 4, '311': 4, mqttv311: 4, '4': 4, '5': 5, '5.0': 5, mqttv5: 5 };

export const DEFAULT_PROTOCOL = '3.1.1';

/** -V/--protocol, worded for the command (the lab says which of its brokers speak 5). */
export function protocolOption(y: Argv, describe = 'MQTT version: 3.1.1 or 5 (also mosquitto\'s mqttv311, 311, mqttv5)'): Argv {
  return y.option('protocol', { alias: 'V', type: 'string', default: DEFAULT_PROTOCOL, describe });
}

/** --protocol: 3.1.1 (MQTT.js's 4) or 5. */
export function protocolFlag(raw: Record<string, unknown>): ProtocolVersion {
  const text = defaulted(raw, 'protocol');
  const protocol = PROTOCOLS[text.toLowerCase()];
  if (protocol) return protocol;
  if (/^(mqttv)?3\.?1$/i.test(text)) throw new UsageError(`--protocol '${printable(text)}': MQTT 3.1 is not supported; use 3.1.1 or 5`);
  throw new UsageError(`--protocol must be 3.1.1 or 5 (or mqttv311, 311, mqttv5), got '${printable(text)}'`);
}
