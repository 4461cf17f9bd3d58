// The receiving tally of numbered traffic, one for chaos, the bench, the load
// test and the comparison: from the sequence numbers carried in payloads, what
// arrived, what never did, what came twice, what came out of order, and what
// was acknowledged to the publisher yet never delivered. Pure.

export interface Tally {
  readonly expected: number;
  /** 1 once a sequence number has been delivered. */
  readonly seen: Uint8Array;
  deliveries: number;
  /** Distinct sequence numbers delivered so far. */
  unique: number;
  duplicated: number;
  outOfOrder: number;
  /** Deliveries whose payload held no sequence number we sent. */
  foreign: number;
  highest: number;
}

export interface Accounting {
  expected: number;
  /** Deliveries to the subscriber, duplicates included. */
  received: number;
  /** Distinct sequence numbers delivered. */
  unique: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  foreign: number;
  /** Acknowledged to the publisher (PUBACK/PUBCOMP) yet never delivered. */
  ackedButLost: number;
}

export function newTally(expected: number): Tally {
  return { expected, seen: new Uint8Array(expected), deliveries: 0, unique: 0, duplicated: 0, outOfOrder: 0, foreign: 0, highest: -1 };
}

/**
 * Records one delivery; true if it is the first of its sequence number. A
 * repeat of a number already seen is a duplicate; a first arrival below the
 * highest number seen so far is out of order.
 */
export function record(tally: Tally, seq: number | null): boolean {
  tally.deliveries++;
  if (seq === null || !Number.isInteger(seq) || seq < 0 || seq >= tally.expected) {
    tally.foreign++;
    return false;
  }
  if (tally.seen[seq]) {
    tally.duplicated++;
    return false;
  }
  tally.seen[seq] = 1;
  tally.unique++;
  if (seq < tally.highest) tally.outOfOrder++;
  else tally.highest = seq;
  return true;
}

/** A tally of deliveries already listed in arrival order (null: a payload without a number). */
export function tallyOf(expected: number, delivered: Iterable<number | null>): Tally {
  const tally = newTally(expected);
  for (const seq of delivered) record(tally, seq);
  return tally;
}

/**
 * The summary of sequence numbers 0..expected-1 (`expected` may be lowered to
 * what was really sent); `acked` marks (truthy) the sequence numbers the publisher saw acknowledged.
 */
export function account(tally: Tally, acked?: ArrayLike<number | boolean>, expected = tally.expected): Accounting {
  let unique = 0;
  let ackedButLost = 0;
  for (let i = 0; i < expected; i++) {
    if (tally.seen[i]) unique++;
    else if (acked?.[i]) ackedButLost++;
  }
  return {
    expected,
    received: tally.deliveries,
    unique,
    lost: expected - unique,
    duplicated: tally.duplicated,
    outOfOrder: tally.outOfOrder,
    foreign: tally.foreign,
    ackedButLost,
  };
}
