// One line of the report card: a question about the broker, its verdict, the
// measured fact, and the trace records the verdict was read from.

/** conforms: what the specification asks; differs: a choice the specification allows; violates: a broken MQTT rule. */
export type Verdict = 'conforms' | 'differs' | 'violates' | 'not-applicable' | 'unmeasured';

export interface Answer {
  /** Short and stable, e.g. `versions`, `matrix`; `--only` takes these. */
  id: QuestionId;
  /** The question, as the card prints it. */
  question: string;
  verdict: Verdict;
  /** The rule broken (violates) or relied on, e.g. `MQTT-3.3.1-1`. */
  rule?: string;
  /** What was measured, in words. */
  fact: string;
  /** The measured figures, for --json. */
  figures: Record<string, unknown>;
  /** The records (1-based lines of the trace) the verdict was read from, as [first, last] ranges. */
  evidence: [number, number][];
  seconds: number;
}

export const QUESTIONS = {
  versions: 'protocol versions accepted',
  granted: 'granted QoS per requested QoS',
  matrix: 'delivered QoS against MIN(pub, sub)',
  forward: 'where QoS 2 is forwarded',
  pubrec: 'the answer to a QoS 2 PUBLISH',
  redelivery: 'redelivery to a resumed subscriber',
  offline: 'offline queue of a persistent session',
  burst: 'acknowledged but never delivered (burst, slow subscriber)',
  chaos: 'exactly-once under connection cuts',
  order: 'ordering per topic at QoS 1/2',
  retained: 'retained messages per QoS',
  expiry: 'MQTT 5 session expiry',
} as const;

export type QuestionId = keyof typeof QUESTIONS;
export const QUESTION_IDS = Object.keys(QUESTIONS) as QuestionId[];

/** Record numbers and ranges merged, in order: [[3, 7], [12, 12]]. */
export function merged(parts: readonly [number, number][]): [number, number][] {
  const sorted = [...parts].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Ranges as text: `3-7, 12`. */
export function rangesText(parts: readonly [number, number][]): string {
  return parts.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');
}
