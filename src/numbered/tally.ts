// End-to-end accounting from the sequence numbers carried in payloads: what
// arrived, what never did, what came twice, what came out of order. Pure.

export interface Tally {
  readonly expected: number;
  /** 1 once a sequence number has been delivered. */
  readonly seen: Uint8Array;
  deliveries: number;
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
  return { expected, seen: new Uint8Array(expected), deliveries: 0, duplicated: 0, outOfOrder: 0, foreign: 0, highest: -1 };
}

/**
 * Records one delivery. A repeat of a number already seen is a duplicate; a
 * first arrival below the highest number seen so far is out of order.
 */
export function record(tally: Tally, seq: number | null): void {
  tally.deliveries++;
  if (seq === null || !Number.isInteger(seq) || seq < 0 || seq >= tally.expected) {
    tally.foreign++;
    return;
  }
  if (tally.seen[seq]) {
    tally.duplicated++;
    return;
  }
  tally.seen[seq] = 1;
  if (seq < tally.highest) tally.outOfOrder++;
  else tally.highest = seq;
}

/** The summary; `acked` marks (1) the sequence numbers the publisher saw acknowledged. */
export function account(tally: Tally, acked?: Uint8Array): Accounting {
  let unique = 0;
  let ackedButLost = 0;
  for (let i = 0; i < tally.expected; i++) {
    if (tally.seen[i]) unique++;
    else if (acked?.[i]) ackedButLost++;
  }
  return {
    expected: tally.expected,
    received: tally.deliveries,
    unique,
    lost: tally.expected - unique,
    duplicated: tally.duplicated,
    outOfOrder: tally.outOfOrder,
    foreign: tally.foreign,
    ackedButLost,
  };
}

/** The payload for sequence number `seq`: the number in ASCII, then '.' up to `size` bytes (one line, so mosquitto_pub -l can send it too). */
export function payloadFor(seq: number, size: number): Buffer {
  const text = String(seq);
  const buffer = Buffer.alloc(Math.max(size, text.length), 0x2e);
  buffer.write(text, 0, 'latin1');
  return buffer;
}

/** The sequence number at the start of a payload, or null if it has none. */
export function seqOf(payload: Uint8Array): number | null {
  let value = 0;
  let digits = 0;
  for (; digits < payload.length && digits < 15; digits++) {
    const c = payload[digits]!;
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
  }
  return digits === 0 ? null : value;
}
