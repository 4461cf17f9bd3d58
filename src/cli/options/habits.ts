// Habits: what a mosquitto_pub/mosquitto_sub user types, or what our tools
// used to take, that means something else (or nothing) here. A refused
// command line gets one line saying what to type now, not just "Unknown argument".
import { UsageError } from '../errors';

type Role = 'publish' | 'subscribe';

const TRACE_HINT = '--json FILE is now --trace FILE';
const JSON_NOW = '--json alone prints each message as a JSON line';

/** mosquitto's flags we do not have, and what they do there (and the way here, if any). */
const MOSQUITTO_ONLY: Record<string, string> = {
  A: "mosquitto's -A binds to a local address: not supported here",
  D: "mosquitto's -D sets MQTT 5 properties: not supported here",
  E: 'mosquitto_sub -E exits once subscribed: not supported here',
  F: 'mosquitto_sub -F formats the output: use --json for one JSON object per message',
  I: "mosquitto's -I is a client id prefix: give the whole id with -i",
  L: "mosquitto's -L URL: use --broker URL, -u/-P and -t",
  M: "mosquitto_pub -M limits messages in flight: this tool sends one flow at a time",
  N: 'mosquitto_sub -N drops the newline after payloads: not supported here',
  R: 'mosquitto_sub -R skips retained messages: not supported here (a retained message is marked "retained")',
  T: 'mosquitto_sub -T filters topics out: not supported here',
  U: 'mosquitto_sub -U unsubscribes: not supported here',
  quiet: "mosquitto's --quiet hides errors: here an error is always one line on stderr",
  unix: "mosquitto's --unix socket: not supported here",
  proxy: "mosquitto's --proxy: not supported here",
  psk: "mosquitto's TLS-PSK: not supported here (use --ca, --cert, --key)",
  'psk-identity': "mosquitto's TLS-PSK: not supported here (use --ca, --cert, --key)",
  capath: "mosquitto's --capath: give one PEM file with --ca",
  ciphers: "mosquitto's --ciphers: not supported here",
  'tls-version': "mosquitto's --tls-version: not supported here (Node picks TLS 1.2 or 1.3)",
  'tls-use-os-certs': "mosquitto's --tls-use-os-certs: give the CA with --ca",
  nodelay: "mosquitto's --nodelay: not needed here (MQTT.js turns Nagle off)",
  property: "mosquitto's --property sets MQTT 5 properties: not supported here",
  'tls-alpn': "mosquitto's --tls-alpn: not supported here",
  'tls-engine': "mosquitto's --tls-engine (an OpenSSL engine): not supported here (give the key as a PEM file with --key)",
  keyform: "mosquitto's --keyform: not supported here (--key takes a PEM file)",
  'tls-engine-kpass-sha1': "mosquitto's --tls-engine-kpass-sha1: not supported here (give the key as a PEM file with --key)",
  pretty: 'mosquitto_sub --pretty: not supported here (--json prints one object per line)',
  'retained-only': 'mosquitto_sub --retained-only: not supported here',
  'remove-retained': 'mosquitto_sub --remove-retained: publish an empty retained message instead (publish-with-qos -t TOPIC -n -r)',
  'random-filter': 'mosquitto_sub --random-filter: not supported here',
};

/** Each tool's own flags, as the other tool would meet them. */
const ONLY: Record<Role, Record<string, string>> = {
  publish: { m: 'the payload', message: 'the payload', f: 'a payload file', file: 'a payload file', s: 'stdin as one message', stdin: 'stdin as one message', l: 'one message per stdin line', lines: 'one message per stdin line', empty: 'an empty payload', repeat: 'how many times to publish', interval: 'the gap between messages', 'repeat-delay': 'the gap between messages', r: 'the RETAIN flag', retain: 'the RETAIN flag' },
  subscribe: { C: 'the message count', W: 'the time limit', timeout: 'the time limit' },
};

/**
 * Runs `parse`; a refusal caused by a habit becomes the one line about it.
 * (Checked after the refusal: `-m -n` is a message, not a habit.)
 */
export function withHabits(role: Role, argv: string[], parse: () => Record<string, unknown> | null): Record<string, unknown> | null {
  const jsonFile = argv.findIndex((a, i) => a.startsWith('--json=') || (a === '--json' && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')));
  // On subscribe --json is a switch, and yargs would read --json=FILE as true.
  if (role === 'subscribe' && argv[jsonFile]?.startsWith('--json=')) throw new UsageError(`${TRACE_HINT}; ${JSON_NOW}`);
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (role === 'publish' && argv.some((a) => a === '--json' || a.startsWith('--json='))) throw new UsageError(TRACE_HINT);
    if (role === 'subscribe' && jsonFile >= 0) throw new UsageError(`${TRACE_HINT}; ${JSON_NOW}`);
    const n = argv.indexOf('-n');
    if (n >= 0 && role === 'subscribe') throw new UsageError(`-n was the message count: it is -C now, as in mosquitto_sub (-C ${argv[n + 1] ?? 'N'})`);
    if (n >= 0 && /^\d+$/.test(argv[n + 1] ?? '')) throw new UsageError(`-n is an empty payload now, as in mosquitto_pub; to publish ${argv[n + 1]} messages use --repeat ${argv[n + 1]}`);
    const unknown = /^Unknown arguments?: ([^,]+)/.exec(error.message)?.[1];
    if (unknown === undefined) throw error;
    const other: Role = role === 'publish' ? 'subscribe' : 'publish';
    const why = MOSQUITTO_ONLY[unknown] ?? (ONLY[other][unknown] && `a flag of the ${other === 'publish' ? 'publisher' : 'subscriber'} (${ONLY[other][unknown]}), not of this tool`);
    if (why) throw new UsageError(`Unknown argument: ${unknown}: ${why}`);
    throw error;
  }
}
