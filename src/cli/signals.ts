// Ctrl-C and SIGTERM as a value to race against: the tools finish politely
// (DISCONNECT, within a bound) and exit 130 or 143 instead of dying mid-handshake.
// Each listener is a `once`: the second signal meets Node's default and ends the process at once.
import { EXIT, type ExitCode } from './errors';

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
