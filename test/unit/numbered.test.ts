// The numbered-traffic tally, pure: gaps, duplicates, reordering, foreign payloads, acknowledged-but-lost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { payloadFor, seqOf } from '../../src/numbered/payload';
import { account, newTally, record, tallyOf } from '../../src/numbered/tally';

test('numbered tally: a gap is lost, a repeat a duplicate, a late first arrival out of order', () => {
  const a = account(tallyOf(6, [0, 3, 1, 3, 5, 1]));
  assert.deepEqual(a, { expected: 6, received: 6, unique: 4, lost: 2, duplicated: 2, outOfOrder: 1, foreign: 0, ackedButLost: 0 });
});

test('numbered tally: record() says which delivery is the first of its number', () => {
  const t = newTally(3);
  assert.deepEqual([2, 2, 0, null, 7, 0, 1].map((seq) => record(t, seq)), [true, false, true, false, false, false, true]);
  assert.equal(t.unique, 3);
  assert.equal(t.foreign, 2);
  assert.equal(t.outOfOrder, 2);
});

test('numbered tally: acknowledged but never delivered, and a lowered expected count', () => {
  const t = tallyOf(5, [0, 2]);
  assert.equal(account(t, [1, 1, 1, 0, 1]).ackedButLost, 2);
  const sentOnly3 = account(t, [true, true, true], 3);
  assert.deepEqual([sentOnly3.expected, sentOnly3.lost, sentOnly3.ackedButLost], [3, 1, 1]);
});

test('numbered payload: the number leads, dots pad to the size, and it reads back', () => {
  assert.equal(payloadFor(42, 6).toString('latin1'), '42....');
  assert.equal(payloadFor(123456, 2).toString('latin1'), '123456');
  assert.equal(seqOf(payloadFor(987, 32)), 987);
  assert.equal(seqOf(Buffer.from('x1')), null);
});
