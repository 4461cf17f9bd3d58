// Waiting, bounded: the one helper for "wait for this, but not for ever".
// Beside connect() because the protocol layer needs it first (acknowledgements,
// a polite end); the lab, chaos, the bench and the tools use the same one.

/** The promise's value, or null if it has not settled within `ms` (the timer is always cleared). */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
