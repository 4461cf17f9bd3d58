// The shared option toolkit (like mosquitto's client_shared.c): one yargs set-up
// for every command, the flags every packet-printing command has, and the
// value checks, each of which names the flag and the value it refused.
import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { parseQos, type QoS } from '../../mqtt/qos';
import { topicNameProblem } from '../../mqtt/topic';
import type { ProtocolVersion } from '../../mqtt/connection';
import { FAULT_SYNTAX, parseFault, type FaultSpec } from '../../faults/fault-spec';
import { UsageError } from '../errors';

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
  compare: 'npm run bench:compare --',
  startup: 'npm run bench:startup --',
} as const;

/** A parse either asks for help/version (already printed) or yields options. */
export type Parsed<T> = { kind: 'shown' } | { kind: 'run'; options: T };

/** --verbose and --color: every tool that prints packets has them. */
export function displayOptions(y: Argv): Argv {
  return y
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'show packet details: ids, qos/dup/retain, topic, sizes, codes' })
    .option('color', { type: 'boolean', default: true, describe: 'color output on a terminal (--no-color or NO_COLOR turns it off)' });
}

/** --json: the packet trace as JSON lines; the pair and the lab share it. */
export function traceOption(y: Argv): Argv {
  return y.option('json', { type: 'string', describe: 'also write every packet to FILE as JSON lines (one object per packet; never a password)' });
}

/**
 * Parses a command line for one tool. Unknown flags, including the other
 * tool's, are errors: nothing the user typed is silently ignored. Returns null
 * when --help or --version was printed.
 */
export function parseRaw(tool: string, about: string, argv: string[], build: (y: Argv) => Argv): Record<string, unknown> | null {
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

/** What every packet-printing command shows: --verbose, --color. */
export interface Display {
  verbose: boolean;
  color: boolean;
}

export function display(raw: Record<string, unknown>): Display {
  return { verbose: Boolean(raw.verbose), color: raw.color !== false };
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

export function seconds(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${flag} must be a number of seconds above 0, got '${text}'`);
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

/** Reads a file named by a flag; any failure is one line naming the flag, the path and why. */
export function readInput(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new UsageError(`--${flag} '${printable(path)}': cannot read it: ${why}`);
  }
}

export function qosFlag(raw: Record<string, unknown>, fallback: string): QoS {
  const text = single(raw, 'qos') ?? fallback;
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

const PROTOCOLS: Record<string, ProtocolVersion> = { '3.1.1': 4, '4': 4, '5': 5, '5.0': 5 };

export const DEFAULT_PROTOCOL = '3.1.1';

/** --protocol (its option has `default: DEFAULT_PROTOCOL`): 3.1.1 (MQTT.js's 4) or 5. */
export function protocolFlag(raw: Record<string, unknown>): ProtocolVersion {
  const text = defaulted(raw, 'protocol');
  const protocol = PROTOCOLS[text];
  if (!protocol) throw new UsageError(`--protocol must be 3.1.1 or 5, got '${printable(text)}'`);
  return protocol;
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

/** The proxy forwards plain TCP, so --fault needs an mqtt:// broker. */
export function validateFault(raw: Record<string, unknown>, url: string): FaultSpec | undefined {
  const text = single(raw, 'fault');
  if (text === undefined) return undefined;
  const fault = parseFault(text);
  if (typeof fault === 'string') throw new UsageError(`--fault ${fault}`);
  if (!url.startsWith('mqtt://')) throw new UsageError(`--fault needs an mqtt:// broker (the proxy forwards plain TCP), got '${url}'`);
  return fault;
}

// --engine, for every command that starts its own broker on loopback (broker, scenario, chaos, load).
// Imported here, at the end, to keep this addition in one place.
import { BROKER_KINDS, type BrokerKind } from '../../broker/kind';

/** --engine aedes|mosquitto; `fallback` is its default (none: the command picks one). */
export function engineOption(y: Argv, describe: string, fallback?: BrokerKind): Argv {
  return y.option('engine', { type: 'string', choices: [...BROKER_KINDS], ...(fallback && { default: fallback }), describe });
}

/** The --engine given, or `fallback`. */
export function engineFlag(raw: Record<string, unknown>, fallback: BrokerKind): BrokerKind {
  const text = single(raw, 'engine') ?? fallback;
  if (!(BROKER_KINDS as readonly string[]).includes(text)) throw new UsageError(`--engine must be ${BROKER_KINDS.join(' or ')}, got '${printable(text)}'`);
  return text as BrokerKind;
}
