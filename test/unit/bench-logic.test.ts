// The bench's pure parts: percentiles and sequence-number accounting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { payloadFor, seqOf } from '../../src/numbered/payload';
import { account, newTally, record } from '../../src/numbered/tally';
import { median, percentile, percentiles, rate } from '../../src/bench/stats';

test('percentiles are nearest-rank: each is a sample that happened', () => {
  const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
  assert.deepEqual(percentiles(samples), { count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
  assert.equal(percentiles([]), null);
});

test('rate is messages per second over milliseconds, 0 for an empty interval', () => {
  assert.equal(rate(500, 250), 2000);
  assert.equal(rate(5, 0), 0);
});

test('accounting: every message once, in order', () => {
  const tally = newTally(5);
  for (const seq of [0, 1, 2, 3, 4]) record(tally, seq);
  assert.deepEqual(account(tally), { expected: 5, received: 5, unique: 5, lost: 0, duplicated: 0, outOfOrder: 0, foreign: 0, ackedButLost: 0 });
});

test('accounting: lost, duplicated, out of order and foreign deliveries, and counts that add up', () => {
  const tally = newTally(6);
  for (const seq of [0, 2, 1, 2, 5, null, 99]) record(tally, seq);
  const acked = Uint8Array.from([1, 1, 1, 1, 0, 1]); // 3 acked, never delivered; 4 not acked
  const a = account(tally, acked);
  assert.deepEqual(a, { expected: 6, received: 7, unique: 4, lost: 2, duplicated: 1, outOfOrder: 1, foreign: 2, ackedButLost: 1 });
  assert.equal(a.unique + a.lost, a.expected);
  assert.equal(a.unique + a.duplicated + a.foreign, a.received);
});

test('payloads carry their sequence number at the given size, as one line of text', () => {
  const payload = payloadFor(1234, 16);
  assert.equal(payload.toString(), '1234............');
  assert.equal(seqOf(payload), 1234);
  assert.equal(seqOf(payloadFor(0, 1)), 0);
  assert.equal(seqOf(Buffer.from('hello')), null);
  assert.equal(seqOf(Buffer.alloc(0)), null);
});

test('median of odd and even counts', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});
