// The bench against real brokers: the accounting must add up when nothing is
// lost, and must show the loss when a broker drops messages. Speed is not asserted.
import { run } from '../support/commands';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBench } from '../../src/bench/levels';
import type { QosResult } from '../../src/bench/result';
import { parseBench } from '../../src/cli/options';
import { runCli } from '../support/cli';
import { needsMosquitto, testMosquitto } from '../support/mosquitto';

function options(argv: string[]) {
  const parsed = parseBench(argv);
  assert.equal(parsed.kind, 'run');
  return parsed.options;
}

test('bench --json: 500 messages per QoS through the embedded broker, none lost or duplicated', async () => {
  const run = await runCli('bench', ['--count', '500', '--json']).done;
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  const report = JSON.parse(run.stdout) as { results: QosResult[] };
  assert.deepEqual(report.results.map((r) => r.qos), [0, 1, 2]);
  for (const r of report.results) {
    const a = r.accounting;
    assert.equal(r.end, 'complete', `QoS ${r.qos}`);
    assert.deepEqual([r.published, r.acked, a.received, a.unique, a.lost, a.duplicated, a.foreign], [500, 500, 500, 500, 0, 0, 0], `QoS ${r.qos}`);
    assert.equal(r.receiveLatency?.count, 500);
    assert.ok(r.msgPerSec > 0);
  }
});

test('bench reports the loss when mosquitto drops messages for a stalled subscriber', needsMosquitto, async (t) => {
  // mosquitto keeps 20 unacknowledged messages in flight to a subscriber and
  // queues 10 more; a subscriber that stops reading gets the rest dropped.
  const broker = await testMosquitto(t, { config: ['max_queued_messages 10'] });
  const { results } = await runBench(options(['--broker', broker.url, '--qos', '1', '--count', '300', '--stall-after', '10', '--idle', '1']));
  const r = results[0]!;
  const a = r.accounting;
  assert.equal(r.end, 'idle');
  assert.equal(r.acked, 300, 'mosquitto acknowledged every publish');
  assert.ok(a.lost > 0, `expected loss, got ${JSON.stringify(a)}`);
  assert.ok(a.unique >= 10, `the subscriber read 10 before it stalled, got ${a.unique}`);
  assert.equal(a.ackedButLost, a.lost);
  assert.equal(a.duplicated, 0);
});

test('bench refuses a public test broker and a payload too small for its sequence numbers', async () => {
  assert.throws(() => parseBench(['--broker', 'public:mosquitto']), /not a public test broker/);
  const run = await runCli('bench', ['--count', '1000', '--size', '2']).done;
  assert.equal(run.code, 1);
  assert.equal(run.stderr, "Error: --size must be at least 3 to hold sequence numbers up to 999, got '2' (see 'node --import tsx src/bin/bench.ts --help')\n");
});

test('bench --trace writes every packet of both clients as JSON lines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-trace-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'trace.jsonl');
  const { results } = await runBench(options(['--qos', '1', '--count', '20', '--trace', file]));
  assert.equal(results[0]!.accounting.unique, 20);
  const records = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seenBy: string; direction: string; type: string });
  const count = (seenBy: string, direction: string, type: string) => records.filter((r) => r.seenBy === seenBy && r.direction === direction && r.type === type).length;
  // Publisher: 20 PUBLISH out, 20 PUBACK in; subscriber: 20 PUBLISH in, 20 PUBACK out.
  assert.deepEqual(
    [count('publisher', 'send', 'publish'), count('publisher', 'receive', 'puback'), count('subscriber', 'receive', 'publish'), count('subscriber', 'send', 'puback')],
    [20, 20, 20, 20],
  );
});

test('load against its own aedes, 1 s at 200 msg/s: every message arrives and the run ends by itself, exit 0', async () => {
  const o = await run('load', ['--engine', 'aedes', '--seconds', '1', '--rate', '200']);
  assert.equal(o.code, 0, o.err);
  assert.match(o.out, /^sent 200 in .*acknowledged to the publisher 200$/m);
  assert.match(o.out, /^received 200, .*lost 0, duplicates 0$/m);
});
