// Waiting for an event with a bound, for the few places where a broker may
// legitimately never send what we wait for (the lab, chaos, the load test).

/** The promise's value, or null if it has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
