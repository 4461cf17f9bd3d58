// Waiting, bounded: the one helper for "wait for this, but not for ever".
// Beside connect() because the protocol layer needs it first (acknowledgements,
// a polite end); the lab, chaos, the bench and the tools use the same one.
import { MqttError } from './errors';

/** The promise's value, or null if it has not settled within `ms` (the timer is always cleared). */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function secondsText(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** The promise's value; a timeout MqttError saying `what` did not happen within `ms` if it has not settled by then. */
export async function orTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const settled = await within(promise.then((value) => ({ value })), ms);
  if (settled === null) throw new MqttError('timeout', `${what} within ${secondsText(ms)}`);
  return settled.value;
}

/** How long a command that drives a broker (scenario, chaos, bench, load) waits for any one answer: CONNACK, SUBACK, an acknowledgement, the end of a DISCONNECT. */
export interface Limits {
  answerMs: number;
}

export const LIMITS: Limits = { answerMs: 10_000 };
