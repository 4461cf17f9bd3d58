// Ctrl-C and SIGTERM as a value to race against: the tools finish politely
// (DISCONNECT, within a bound) and exit 130 or 143 instead of dying mid-handshake.
// Each listener is a `once`: the second signal meets Node's default and ends the process at once.
import { EXIT, type ExitCode } from './errors';
import { within } from '../mqtt/wait';

export type Signal = 'SIGINT' | 'SIGTERM';

/** The exit code a shell reports for each: 128 + the signal number. */
export const SIGNAL_EXIT: Record<Signal, ExitCode> = { SIGINT: EXIT.interrupted, SIGTERM: EXIT.terminated };

export function interrupted(): { promise: Promise<Signal>; dispose(): void } {
  let onInt: () => void = () => undefined;
  let onTerm: () => void = () => undefined;
  const promise = new Promise<Signal>((resolve) => {
    onInt = () => {
      process.off('SIGTERM', onTerm);
      resolve('SIGINT');
    };
    onTerm = () => {
      process.off('SIGINT', onInt);
      resolve('SIGTERM');
    };
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

/** Whether a race's outcome is a signal rather than the work's own result. */
export function isSignal(value: unknown): value is Signal {
  return value === 'SIGINT' || value === 'SIGTERM';
}

/**
 * Runs `work` until it ends or a signal comes. On a signal: `abort` tells the
 * work to stop, it gets `stopMs` to do so (its own waits are bounded anyway,
 * but may be long), a second signal quits at once; the result is the signal's
 * exit code. process.exit still runs the 'exit' hooks that stop child brokers.
 */
export async function untilSignal<T>(work: (stop: AbortSignal) => Promise<T>, stopMs: number, onSignal: () => void): Promise<{ done: T } | { code: ExitCode }> {
  const [signal, abort] = [interrupted(), new AbortController()];
  try {
    const running = work(abort.signal);
    const first = await Promise.race([running.then((done) => ({ done })), signal.promise]);
    if (!isSignal(first)) return first;
    const code = SIGNAL_EXIT[first];
    abort.abort();
    for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => process.exit(code));
    onSignal();
    if ((await within(running.catch(() => undefined), stopMs)) === null) process.exit(code);
    return { code };
  } finally {
    signal.dispose();
  }
}

/** Runs a server's close(); a signal meanwhile quits at once, through process.exit, whose 'exit' hooks still stop child brokers. */
export async function closeOrQuit(close: () => Promise<void>): Promise<void> {
  const quit = (signal: Signal) => process.exit(SIGNAL_EXIT[signal]);
  process.once('SIGINT', quit).once('SIGTERM', quit);
  try {
    await close();
  } finally {
    process.off('SIGINT', quit).off('SIGTERM', quit);
  }
}
