// What --fault means: which point of a flow the proxy cuts the connection at.
// Parsing is pure so the CLI, the scenarios and the tests share one grammar.

/** Packets whose loss the proxy can arrange: the cut happens instead of forwarding them. */
export const CUT_POINTS = ['puback', 'pubrec', 'pubcomp'] as const;
export type CutPoint = (typeof CUT_POINTS)[number];

export type FaultSpec =
  /** Drop the first such packet (either direction) and cut the connection: the flow is left half done. */
  | { kind: 'before'; packet: CutPoint }
  /** Cut every connection after a random delay in [minMs, maxMs], drawn from a seeded PRNG. */
  | { kind: 'every'; minMs: number; maxMs: number; seed: number };

export const FAULT_SYNTAX = `puback | pubrec | pubcomp | every:MS[-MS][:SEED]`;
const DEFAULT_SEED = 1;

/** Parses `pubrec`, `every:300`, `every:200-500`, `every:200-500:42`; a string says what is wrong. */
export function parseFault(text: string): FaultSpec | string {
  const value = text.trim().toLowerCase();
  if ((CUT_POINTS as readonly string[]).includes(value)) return { kind: 'before', packet: value as CutPoint };
  const every = /^every:(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(value);
  if (!every) return `must be ${FAULT_SYNTAX}, got '${text}'`;
  const minMs = Number(every[1]);
  const maxMs = every[2] === undefined ? minMs : Number(every[2]);
  const seed = every[3] === undefined ? DEFAULT_SEED : Number(every[3]);
  if (minMs < 1 || maxMs < minMs) return `every:MIN-MAX needs 1 <= MIN <= MAX milliseconds, got '${text}'`;
  if (!Number.isSafeInteger(seed) || seed > 0xffffffff) return `the seed must be a whole number below 2^32, got '${every[3]}'`;
  return { kind: 'every', minMs, maxMs, seed };
}

export function describeFault(spec: FaultSpec): string {
  if (spec.kind === 'before') return `cut the connection instead of forwarding the first ${spec.packet.toUpperCase()}`;
  const range = spec.minMs === spec.maxMs ? `${spec.minMs} ms` : `${spec.minMs}-${spec.maxMs} ms`;
  return `cut every connection after ${range} (seed ${spec.seed})`;
}
