// Latency percentiles from raw samples. Pure: no clock, no I/O.

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * Nearest-rank percentile (the smallest sample with at least p% of samples at
 * or below it), so every figure reported is a latency that really happened.
 * `sorted` must be in ascending order and non-empty.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** p50/p90/p99/max of the samples, or null when there are none. */
export function percentiles(samples: ArrayLike<number>): Percentiles | null {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
  };
}

/** Messages per second over an interval in milliseconds; 0 when the interval is empty. */
export function rate(messages: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (messages * 1000) / elapsedMs : 0;
}

/** The middle value (the mean of the two middle ones for an even count); runs of a whole command are compared by it. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
