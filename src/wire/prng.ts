// A small seeded PRNG (mulberry32): the same seed gives the same cut times, so
// a chaos run can be repeated. Pure: state in, value and next state out.

/** The generator's whole state: one 32-bit integer. */
export type Seed = number;

/** Returns a float in [0, 1) and the next state. */
export function nextRandom(state: Seed): { value: number; next: Seed } {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return { value: ((t ^ (t >>> 14)) >>> 0) / 4294967296, next };
}

/** A stateful wrapper for callers that just want the next number in [min, max]. */
export function randomInts(seed: Seed, min: number, max: number): () => number {
  let state = seed >>> 0;
  return () => {
    const { value, next } = nextRandom(state);
    state = next;
    return min + Math.floor(value * (max - min + 1));
  };
}
