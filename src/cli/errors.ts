// Exit codes and the errors that carry them. The README's exit-code table is
// this list; keep them in step.
import { ChildFailed } from '../broker/children';
import { InputError, MqttError, type MqttErrorKind } from '../mqtt/errors';
import { explain, shownName } from './explain';

export const EXIT = {
  ok: 0,
  /** A bad option or value: fix the command line. */
  usage: 1,
  /** Could not reach the broker (nothing listening, unknown host, TLS failure). */
  connect: 2,
  /** The broker answered CONNACK with a refusal (bad credentials, not authorized, ...). */
  refused: 3,
  /** A bounded wait ran out: --timeout, an acknowledgement (--ack-timeout), a PINGRESP. */
  timeout: 4,
  /** The broker refused a subscription or publish, or the connection broke mid-flow. */
  protocol: 5,
  /** The broker broke an MQTT rule: a wrong acknowledgement type, an unknown packet id, a malformed packet. */
  violation: 6,
  /** Ctrl-C (SIGINT), as shells report it: 128 + 2. */
  interrupted: 130,
  /** SIGTERM, as shells report it: 128 + 15. */
  terminated: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code for each kind of protocol-layer error. */
const EXIT_OF: Record<MqttErrorKind, ExitCode> = {
  unreachable: EXIT.connect,
  refused: EXIT.refused,
  timeout: EXIT.timeout,
  lost: EXIT.protocol,
  violation: EXIT.violation,
  rejected: EXIT.protocol,
};

/** An error the user can act on: printed as one line, then the process exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/**
 * One line for any error: ours carry their own words; anything else shows its message, never a stack.
 * `tool` is the command's COMMANDS name: hints call it as the user started it and name only its flags.
 */
export function errorLine(error: unknown, tool: string): string {
  if (error instanceof UsageError) return `Error: ${error.message} (see '${shownName(tool)} --help')`;
  if (error instanceof MqttError) return `Error: ${firstLine(explain(error, tool))}`;
  if (error instanceof Error) return `Error: ${firstLine(error.message)}`;
  return `Error: ${firstLine(String(error))}`;
}

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof MqttError) return EXIT_OF[error.kind];
  if (error instanceof InputError) return EXIT.usage;
  if (error instanceof ChildFailed) return knownExit(error.exitCode);
  return error instanceof CliError ? error.exitCode : EXIT.usage;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** A child of ours exits with our codes (a connect error 2, a timeout 4, ...); anything else is a crash, a protocol failure here. */
function knownExit(code: number | null): ExitCode {
  return (Object.values(EXIT) as number[]).includes(code ?? -1) && code !== EXIT.ok ? (code as ExitCode) : EXIT.protocol;
}

