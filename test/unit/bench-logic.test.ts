// The bench's pure parts: percentiles, sequence-number accounting, the compare's
// clean-run medians, the sweep's points, the bench's flags.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { payloadFor, seqOf } from '../../src/numbered/payload';
import { account, newTally, record } from '../../src/numbered/tally';
import { median, percentile, percentiles, rate } from '../../src/bench/stats';
import { isClean, roundOrder, summary, type LevelRuns, type Measured } from '../../src/bench/compare';
import { pointShape, sweepReport, type SweepPoint } from '../../src/bench/sweep';
import { sumAccounting } from '../../src/bench/run';
import { parseBench, parseCompare } from '../../src/cli/options';

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

function measured(msgPerSec: number, lost = 0, cpuUsPerMsg?: number): Measured {
  const expected = 1000;
  return { msgPerSec, cpuUsPerMsg, accounting: { expected, received: expected - lost, unique: expected - lost, lost, duplicated: 0, outOfOrder: 0, foreign: 0, ackedButLost: lost } };
}

test('compare: a run that lost messages is not clean, and the medians and ratios leave it out', () => {
  assert.equal(isClean(measured(10_000)), true);
  assert.equal(isClean(measured(10_000, 1)), false);
  const level: LevelRuns = {
    ours: { clean: [measured(30_000, 0, 10), measured(32_000, 0, 12), measured(31_000, 0, 11)], dropped: [] },
    bare: { clean: [measured(31_000, 0, 9), measured(31_000, 0, 9)], dropped: [] },
    // The dropped run was the fastest: counted, it would have moved the median.
    c: { clean: [measured(20_000), measured(25_000)], dropped: [measured(90_000, 1780)] },
  };
  const text = summary(new Map([[1, level]]));
  const row = text.split('\n').find((l) => l.startsWith('QoS 1'))!;
  assert.deepEqual(row.split(/\s+/), ['QoS', '1', '31.0K', '31.0K', '22.5K', '1.38x', '1.00x', '11.0', '9.0', '3/2/2']);
  assert.match(text, /^ {2}QoS 1 C client: lost 1780 of 1000, 1780 of them acknowledged$/m);
});

test('compare: each contender goes first once every three rounds', () => {
  assert.deepEqual([0, 1, 2].map((r) => roundOrder(r)[0]), ['ours', 'bare', 'c']);
  assert.deepEqual(roundOrder(1), ['bare', 'c', 'ours']);
});

test('sweep points: deliveries split across pairs and subscribers, big payloads capped at 64 MB, at least 20 messages', () => {
  assert.deepEqual(pointShape('window', 1000, 3000), { window: 1000, size: 32, pairs: 1, subscribers: 1, messages: 3000 });
  assert.equal(pointShape('payload', 262_144, 3000).messages, 256);
  assert.equal(pointShape('pairs', 100, 3000).messages, 30);
  assert.deepEqual(pointShape('fan-out', 100, 300), { window: 20, size: 32, pairs: 1, subscribers: 100, messages: 20 });
});

test('accountings of several subscribers add up field by field', () => {
  const a = measured(0, 3).accounting;
  assert.deepEqual(sumAccounting([a, a]), { expected: 2000, received: 1994, unique: 1994, lost: 6, duplicated: 0, outOfOrder: 0, foreign: 0, ackedButLost: 6 });
});

test('bench flags: no -s (mosquitto_pub -s is stdin), --size stays; --sweep counts 10000 deliveries per point unless told; --engine or --broker', () => {
  assert.throws(() => parseBench(['-s', '64']), /Unknown argument: s/);
  const run = (argv: string[]) => {
    const parsed = parseBench(argv);
    assert.equal(parsed.kind, 'run');
    return parsed.options;
  };
  assert.equal(run(['--size', '64']).size, 64);
  assert.deepEqual([run([]).count, run(['--sweep']).count, run(['--sweep', '--count', '500']).count, run(['--sweep']).sweep], [20000, 10000, 500, true]);
  assert.deepEqual([run([]).engine, run(['--engine', 'mosquitto']).engine], ['aedes', 'mosquitto']);
  assert.throws(() => parseBench(['--engine', 'mosquitto', '--broker', '127.0.0.1:1884']), /give --broker or --engine, not both/);
  // The sweep sets window and payload per point: a --window given with it would be dropped silently.
  assert.throws(() => parseBench(['--sweep', '--window', '5']), /^UsageError: --sweep sets the window and the payload itself, point by point; --window cannot be given with it$/);
  assert.throws(() => parseBench(['--sweep', '--size=64']), /--size cannot be given with it/);
  assert.deepEqual([run([]).size, run([]).window, run(['-w', '0']).window], [32, 20, 0]);
});

test('sweep report: a table per axis, and a point the broker dropped messages in is named, with its runs', () => {
  const point = (axis: SweepPoint['axis'], value: number, lost: number, tries: number): SweepPoint => ({
    axis, value, qos: 2, messages: 1000, msgPerSec: 30_000, receiveLatency: { count: 1000, p50: 1, p90: 2, p99: 3, max: 4 }, rssMb: 120, rssGrowthMb: 5,
    accounting: { ...measured(0, lost).accounting }, complete: lost === 0, tries,
  });
  const text = sweepReport([point('window', 1, 0, 1), point('window', 100, 400, 3), point('pairs', 10, 0, 2)], 'heading');
  assert.match(text, /^window +msgs +QoS 2 msg\/s +p50 ms +p99 ms +RSS MB \(\+during\) +lost$/m);
  assert.match(text, /^100 +1000 +30\.0K +1\.00 +3\.00 +120 \(\+5\) +400$/m);
  assert.match(text, /^window 100, QoS 2: 400 of 1000 deliveries never came \(400 acknowledged to the publisher\) in each of 3 runs: the broker dropped them, so its msg\/s is no throughput figure$/m);
  assert.match(text, /^pairs 10 × \(1 → 1\), QoS 2: the broker dropped messages in 1 run\(s\) before this clean one \(not counted\)$/m);
  assert.doesNotMatch(text, /^window 1, /m);
});

test('bench, sweep and compare: the count is --count or -C (as mosquitto_sub), and -n is one line naming --count (the publisher\'s -n is an empty payload)', () => {
  const run = (argv: string[]) => {
    const parsed = parseBench(argv);
    assert.equal(parsed.kind, 'run');
    return parsed.options;
  };
  assert.deepEqual([run(['-C', '300']).count, run(['--count', '300']).count, run(['--sweep', '-C', '40']).count], [300, 300, 40]);
  const compared = parseCompare(['-C', '300']);
  assert.equal(compared.kind === 'run' && compared.options.count, 300);
  for (const argv of [['-n', '5'], ['-n5'], ['--sweep', '-n', '40']]) {
    assert.throws(() => parseBench(argv), /^UsageError: -n is not a bench flag: the message count is --count N \(or -C N\); -n is the publisher's empty payload, as in mosquitto_pub$/, argv.join(' '));
  }
  assert.throws(() => parseCompare(['-n', '5']), /^UsageError: -n is not a bench:compare flag: the message count is --count N \(or -C N\)/);
  // A topic that happens to be -n is a value, not the flag.
  assert.equal(run(['-t', 'a', '-C', '3']).topic, 'a');
});

test('bench --trace -: stdout is the trace\'s, so --json (stdout too) with it is refused in one line; a file name is fine', () => {
  assert.throws(() => parseBench(['--json', '--trace', '-']), /^UsageError: --json and --trace - both write to stdout: give --trace a file name$/);
  const parsed = parseBench(['--trace', '-']);
  assert.equal(parsed.kind === 'run' && parsed.options.traceToStdout, true);
  const plain = parseBench([]);
  assert.equal(plain.kind === 'run' && plain.options.traceToStdout, false);
});
