// The shared option toolkit (like mosquitto's client_shared.c): one yargs set-up
// for every command, the flags every packet-printing command has, and the
// value checks, each of which names the flag and the value it refused.
import yargs, { type Argv } from 'yargs';
import { parseQos, type QoS } from '../../mqtt/qos';
import { topicNameProblem } from '../../mqtt/topic';
import { CUT_POINTS, FAULT_SYNTAX, parseFault, type CutPoint, type FaultSpec } from '../../wire/fault';
import { UsageError } from '../errors';
import { declareFlags, shownName } from '../explain';
import { maskUserinfo } from './broker-url';

/** How each command is invoked: its --help and its error hints name it so. */
export const COMMANDS = {
  publish: 'publish-with-qos',
  subscribe: 'subscribe-with-qos',
  broker: 'npm run broker --',
  lab: 'npm start --',
  scenario: 'npm run scenario --',
  chaos: 'npm run chaos --',
  load: 'npm run load --',
  bench: 'mqtt-qos-bench',
  probe: 'mqtt-qos-probe',
  compare: 'npm run bench:compare --',
  startup: 'npm run bench:startup --',
} as const;

/**
 * A --help example: the command line after the command's name ($0), and what
 * it does. Kept as data so a test can parse each one with its command's parser.
 */
export type Example = readonly [line: string, what: string];

/** Adds a command's examples to its --help. */
export function withExamples(y: Argv, examples: readonly Example[]): Argv {
  return examples.reduce((out, [line, what]) => out.example(line, what), y);
}

/** A parse either asks for help/version (already printed) or yields options. */
export type Parsed<T> = { kind: 'shown' } | { kind: 'run'; options: T };

/** --verbose and --color: every tool that prints packets has them. */
export function displayOptions(y: Argv): Argv {
  return y
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'show packet details: ids, qos/dup/retain, topic, sizes, codes' })
    .option('color', { type: 'boolean', default: true, describe: 'color output on a terminal (--no-color or NO_COLOR turns it off)' });
}

/** --trace FILE: the packet trace as JSON lines; the pair, the lab and the bench share the format. */
export function traceOption(y: Argv): Argv {
  return y
    .option('trace', { type: 'string', describe: 'also write every packet to FILE as JSON lines (one object per packet; never a password); FILE - is stdout, the other lines then go to stderr' })
    .option('json', { type: 'string', describe: 'the old spelling of --trace FILE (still works)' });
}

/** What --trace FILE on the tools and the lab used to be called: the README taught it, so it still works. */
export const OLD_TRACE_NOTE = '--json FILE is now --trace FILE (the old spelling still works)';

/** A --trace file, and the spelling it was asked for with (errors name the flag as typed). */
export interface TraceFile {
  path: string;
  flag: 'trace' | 'json';
}

/** --trace FILE, or --json FILE, its old spelling (the caller says OLD_TRACE_NOTE on stderr then). */
export function traceFlag(raw: Record<string, unknown>): TraceFile | undefined {
  const trace = filePath(raw, 'trace');
  const old = filePath(raw, 'json');
  if (trace !== undefined && old !== undefined) throw new UsageError('--json FILE is the old spelling of --trace FILE: give one of them');
  if (old !== undefined) return { path: old, flag: 'json' };
  return trace === undefined ? undefined : { path: trace, flag: 'trace' };
}

/**
 * Parses a command line for one tool. Unknown flags, including the other
 * tool's, are errors: nothing the user typed is silently ignored. Returns null
 * when --help or --version was printed.
 */
export function parseRaw(tool: string, about: string, argv: string[], build: (y: Argv) => Argv): Record<string, unknown> | null {
  const y = yargs()
    .scriptName(shownName(tool))
    .usage(`$0 [options]\n\n${about}`)
    // No camelCase twins: an unknown flag is named once, as typed.
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false, 'camel-case-expansion': false })
    .strict()
    .exitProcess(false)
    .showHelpOnFail(false)
    .fail((message, error) => {
      // yargs spreads some messages over lines ("Invalid values:\n  Argument: ..."): an error is one line.
      // It also echoes what it refused ("Unknown argument: mqtt://u:pw@h"): no secret gets through.
      throw new UsageError(hideSecrets((message ?? error?.message ?? 'invalid command line').replace(/\s*\n\s*/g, ' '), argv));
    })
    .help()
    .version()
    .wrap(Math.min(100, process.stdout.columns ?? 100));
  const built = build(y);
  // -h is help, unless the command has its own -h (the tools' --host, as mosquitto's clients spell it).
  if (!flagsOf(built).canonical.has('h')) built.alias('help', 'h');
  const flags = flagsOf(built);
  declareFlags(tool, [...flags.strings, ...flags.booleans]);
  // A value flag with nothing after it (`--qos` at the end) is an error, not a silent default.
  built.requiresArg(flags.strings);
  const raw = built.parseSync(valuesAsValues(argv, flags)) as Record<string, unknown>;
  return raw.help || raw.version ? null : raw;
}

/** The flags a command declares: value flags, switches, and each spelling's canonical (longest) name. */
interface Flags {
  strings: string[];
  booleans: Set<string>;
  canonical: Map<string, string>;
}

function flagsOf(y: Argv): Flags {
  // (getOptions is public in yargs but missing from @types/yargs.)
  const o = (y as Argv & { getOptions(): { string: string[]; boolean: string[]; alias: Record<string, string[]> } }).getOptions();
  const canonical = new Map<string, string>();
  for (const [key, aliases] of Object.entries(o.alias)) {
    const name = [key, ...aliases].reduce((a, b) => (b.length > a.length ? b : a));
    for (const spelling of [key, ...aliases]) canonical.set(spelling, name);
  }
  return { strings: o.string, booleans: new Set(o.boolean), canonical };
}

/**
 * What getopt does, and yargs does not: a value flag takes the next word even
 * when it starts with '-' (`-P -hunter2` is a password, not -h and the help),
 * unless that word is one of the command's own flags (`--trace --verbose` forgot
 * the file name), and takes the rest of its word when attached (`-q2`, `-Psecret`;
 * yargs would read `-mhello` as -m -h -e -l -l -o). A switch given twice, or both
 * ways (`--clean --no-clean`), is an error like any repeated flag: yargs would keep the last silently.
 */
function valuesAsValues(argv: string[], flags: Flags): string[] {
  const nameOf = (spelling: string) => flags.canonical.get(spelling) ?? spelling;
  const known = (word: string): boolean => {
    const long = /^--(?:no-)?([^=]+)/.exec(word)?.[1];
    if (long !== undefined) return flags.strings.includes(long) || flags.booleans.has(long);
    const short = /^-([a-z]+)$/i.exec(word)?.[1];
    return short !== undefined && [...short].every((c) => flags.strings.includes(c) || flags.booleans.has(c));
  };
  const switches = new Map<string, string[]>();
  const sawSwitch = (name: string, word: string) => switches.set(nameOf(name), [...(switches.get(nameOf(name)) ?? []), word]);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      out.push(...argv.slice(i));
      break;
    }
    // getopt's attached value (`-Psecret`, `-h127.0.0.1`, `-mhello`): a value flag's letter first takes the rest of the word.
    const attached = /^-([A-Za-z])([^=][\s\S]*)$/.exec(word);
    if (attached && flags.strings.includes(attached[1]!)) {
      out.push(`--${nameOf(attached[1]!)}=${attached[2]}`);
      continue;
    }
    const long = /^--([^=]+)(=.*)?$/.exec(word);
    const short = long ? undefined : /^-([a-z]+)$/i.exec(word)?.[1];
    const name = long?.[1] ?? (short?.length === 1 ? short : undefined);
    if (name !== undefined && flags.strings.includes(name) && long?.[2] === undefined) {
      const next = argv[i + 1];
      if (next !== undefined && next.startsWith('-') && next !== '-' && !known(next)) {
        out.push(`--${nameOf(name)}=${next}`);
        i++;
        continue;
      }
    }
    if (long) {
      const flag = long[1]!.startsWith('no-') && flags.booleans.has(long[1]!.slice(3)) ? long[1]!.slice(3) : long[1]!;
      if (flags.booleans.has(flag)) sawSwitch(flag, word);
    } else if (short !== undefined) {
      // A bundle (`-rv`) is each of its letters: yargs reads `-vv` as -v twice.
      for (const c of short) if (flags.booleans.has(c)) sawSwitch(c, word);
    }
    out.push(word);
  }
  for (const [name, words] of switches) {
    if (words.length > 1) throw new UsageError(`--${name} was given ${words.length} times (${words.join(' ')}); give it once`);
  }
  return out;
}

const SECRET_FLAGS = ['--password', '-P'];

/** Masks the --password value and any URL userinfo in a message that may echo the command line. */
function hideSecrets(message: string, argv: string[]): string {
  const secrets = argv.flatMap((word, i) => {
    const inline = SECRET_FLAGS.map((f) => `${f}=`).find((f) => word.startsWith(f));
    if (inline) return [word.slice(inline.length)];
    if (/^-P[^=]/.test(word)) return [word.slice(2)];
    return SECRET_FLAGS.includes(word) && argv[i + 1] !== undefined ? [argv[i + 1]!] : [];
  });
  let text = message;
  for (const secret of secrets.filter((s) => s !== '')) text = text.split(secret).join('***');
  return text.replace(/\S*@\S*/g, (word) => maskUserinfo(word));
}

/** What every packet-printing command shows: --verbose, --color. */
export interface Display {
  verbose: boolean;
  color: boolean;
}

export function display(raw: Record<string, unknown>): Display {
  return { verbose: Boolean(raw.verbose), color: raw.color !== false };
}

/**
 * A short flag this command does not have but a user may type from habit
 * (mosquitto's, or another of our commands'): refused in one line that names
 * the flag to use, rather than yargs' bare "Unknown argument". `-n`, `-n5`, `-n=5`.
 */
export function refuseShort(argv: readonly string[], letter: string, why: string): void {
  const end = argv.indexOf('--');
  const words = end < 0 ? argv : argv.slice(0, end);
  if (words.some((w) => w === `-${letter}` || (w.startsWith(`-${letter}`) && /^[=\d]/.test(w.slice(2))))) throw new UsageError(why);
}

/** A flag given twice is an error rather than a silent "last one wins". */
export function single(raw: Record<string, unknown>, flag: string): string | undefined {
  const value = raw[flag];
  if (Array.isArray(value)) throw new UsageError(`--${flag} was given ${value.length} times; give it once`);
  return value === undefined ? undefined : String(value);
}

/** A flag with a yargs default: yargs always fills it, so its default is written once, at the option. */
export function defaulted(raw: Record<string, unknown>, flag: string): string {
  const value = single(raw, flag);
  // Only reachable if an option lost its `default:`: a bug here, not bad input.
  if (value === undefined) throw new Error(`--${flag} has no default`);
  return value;
}

export function integer(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${flag} must be a whole number of at least ${min}, got '${text}'`);
  }
  return value;
}

/** Node's timers hold at most 2^31−1 ms (about 24.8 days); a longer delay silently becomes 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration in seconds that a timer will wait: above 0, and at most what a Node timer can hold. */
export function seconds(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${flag} must be a number of seconds above 0, got '${printable(text)}'`);
  }
  if (value * 1000 > MAX_TIMER_MS) throw new UsageError(`--${flag} must be at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24.8 days, what a timer can wait), got '${printable(text)}'`);
  return value;
}

/** A whole number of milliseconds that a timer will wait. */
export function milliseconds(flag: string, text: string, min: number): number {
  const value = integer(flag, text, min);
  if (value > MAX_TIMER_MS) throw new UsageError(`--${flag} must be at most ${MAX_TIMER_MS} milliseconds (about 24.8 days, what a timer can wait), got '${printable(text)}'`);
  return value;
}

/** MQTT's strings (topic, client id, user name, password) carry a two-byte length. */
export const MAX_STRING_BYTES = 65535;

/** A string MQTT sends with a two-byte length; `shown` false keeps the value out of the message (a password). */
export function mqttString(flag: string, value: string, shown = true): string {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_STRING_BYTES) {
    throw new UsageError(`${flag} ${shown ? `'${printable(value)}' ` : ''}is ${bytes} bytes as UTF-8; MQTT allows at most ${MAX_STRING_BYTES}`);
  }
  return value;
}

/** Shows control characters in an error line as escapes, so the line stays one line. */
export function printable(text: string): string {
  const shown = JSON.stringify(text).slice(1, -1);
  return shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
}

/** A file name option: absent, or a non-empty path. */
export function filePath(raw: Record<string, unknown>, flag: string): string | undefined {
  const path = single(raw, flag);
  if (path !== undefined && path.trim() === '') throw new UsageError(`--${flag} needs a file name`);
  return path;
}

/** --qos, whose default its option declares. */
export function qosFlag(raw: Record<string, unknown>): QoS {
  const text = defaulted(raw, 'qos');
  const qos = parseQos(text);
  if (qos === null) throw new UsageError(`--qos must be 0, 1 or 2, got '${text}'`);
  return qos;
}

/** `1,2` → [1, 2]: QoS levels in the order 0, 1, 2, each once. */
export function qosList(flag: string, text: string): QoS[] {
  const levels = text.split(',').map((part) => {
    const qos = parseQos(part);
    if (qos === null) throw new UsageError(`--${flag} must be QoS levels 0, 1 or 2 (e.g. 2 or 0,2), got '${printable(text)}'`);
    return qos;
  });
  return [0, 1, 2].filter((q): q is QoS => levels.includes(q as QoS));
}

/** --topic for a command that publishes: a topic name, no wildcards. */
export function topicFlag(raw: Record<string, unknown>, fallback: string): string {
  const topic = single(raw, 'topic') ?? fallback;
  const problem = topicNameProblem(topic);
  if (problem) throw new UsageError(`--topic '${printable(topic)}': ${problem}`);
  return topic;
}

/** --fault: the two tools and the lab have it; `scope` says which connection it cuts. */
export function faultOption(y: Argv, scope = ''): Argv {
  return y.option('fault', {
    type: 'string',
    describe: `cut the connection${scope} through a loopback proxy, then reconnect (same id) and resend: ${FAULT_SYNTAX}`,
  });
}

/**
 * --fault, given the QoS levels of the flows on the cut connection (each a
 * packet the proxy may see): a cut point none of them carries would never fire.
 */
export function validateFault(raw: Record<string, unknown>, url: string, carries: readonly CutPoint[] = CUT_POINTS): FaultSpec | undefined {
  const text = single(raw, 'fault');
  if (text === undefined) return undefined;
  const fault = parseFault(text);
  if (typeof fault === 'string') throw new UsageError(`--fault ${fault}`);
  if (!url.startsWith('mqtt://')) throw new UsageError(`--fault needs an mqtt:// broker (the proxy forwards plain TCP), got '${url}'`);
  if (fault.kind === 'every' && fault.maxMs > MAX_TIMER_MS) {
    throw new UsageError(`--fault every: cuts at most ${MAX_TIMER_MS} ms apart (what a timer can wait), got '${printable(text)}'`);
  }
  if (fault.kind === 'before' && !carries.includes(fault.packet)) {
    const which = carries.length === 0 ? 'PUBLISH, never acknowledged' : carries.map((p) => p.toUpperCase()).join(', ');
    throw new UsageError(`--fault ${fault.packet}: at the QoS given no flow carries a ${fault.packet.toUpperCase()} (only ${which}), so the cut would never happen`);
  }
  return fault;
}

/** The acknowledgements a publish at this QoS is answered with: what a `before` cut can wait for. */
export function ackPackets(qos: QoS): CutPoint[] {
  return qos === 0 ? [] : qos === 1 ? ['puback'] : ['pubrec', 'pubcomp'];
}

// --engine, for every command that starts its own broker on loopback (broker, scenario, chaos, load).
// Imported here, at the end, to keep this addition in one place.
import { BROKER_KINDS, MULTI_NODE, type BrokerKind } from '../../broker/kind';

/** One broker: the engines of a command that has no publisher and subscriber to put on two nodes. */
export const SINGLE_BROKER_KINDS: readonly BrokerKind[] = BROKER_KINDS.filter((k) => !MULTI_NODE.includes(k));

/**
 * --engine aedes|mosquitto; `fallback` is its default (none: the command picks one). The engines of
 * several brokers (aedes-cluster, mosquitto-bridge) only where the command says it uses both nodes:
 * elsewhere it would run on node A alone, not what was asked for.
 */
export function engineOption(y: Argv, describe: string, fallback?: BrokerKind, kinds: readonly BrokerKind[] = SINGLE_BROKER_KINDS): Argv {
  return y.option('engine', { type: 'string', choices: [...kinds], ...(fallback && { default: fallback }), describe });
}

/** The --engine given, or `fallback` for a command whose --engine declares no default (it depends on the machine, or is worded in the help). */
export function engineFlag(raw: Record<string, unknown>, fallback?: BrokerKind): BrokerKind {
  const text = fallback === undefined ? defaulted(raw, 'engine') : (single(raw, 'engine') ?? fallback);
  if (!(BROKER_KINDS as readonly string[]).includes(text)) throw new UsageError(`--engine must be ${BROKER_KINDS.join(' or ')}, got '${printable(text)}'`);
  return text as BrokerKind;
}
