// The broker report card across two brokers: the aedes cluster (over a
// redis-server the probe starts) and the mosquitto bridge at QoS 1, with the
// publishers on node A and the subscribers on node B, each leg through its own
// recorder relay, one numbering of records. In-process through main() with
// short bounds and the --quick sizes. Without redis-server (or mosquitto) these
// skip and say so; with CI=true (or REQUIRE_REDIS=1) they run and fail.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { PUBLIC_BROKERS } from '../../src/cli/options/broker-url';
import test from 'node:test';
import { main } from '../../src/bin/probe';
import { redisPath } from '../../src/broker/redis';
import { EXIT } from '../../src/cli/errors';
import { settle } from '../../src/cli/main';
import { COMMANDS } from '../../src/cli/options/parse';
import type { Answer } from '../../src/probe/answer';
import type { ProbeLimits } from '../../src/probe/probe';
import { testBroker } from '../support/broker';
import { sink } from '../support/commands';
import { needsMosquitto } from '../support/mosquitto';

const LIMITS: ProbeLimits = { answerMs: 2000, quietMs: 300, stallMs: 2000 };
const REQUIRED = process.env.CI === 'true' || process.env.REQUIRE_REDIS === '1';
const needsRedis = { skip: redisPath() === null && !REQUIRED ? 'redis-server is not installed (bash scripts/install-redis.sh); CI=true makes this fail' : false };

interface Card {
  code: number;
  err: string;
  broker: string;
  records: number;
  byId: Record<string, Answer>;
}

interface TraceLine {
  record: number;
  node?: string;
  type: string;
  clientId: string;
  connection: number;
}

async function probe(argv: string[], limits = LIMITS): Promise<Card> {
  const out = sink();
  const err = sink();
  let errors = '';
  const code = await settle(COMMANDS.probe, (a) => main(a, { out: out.stream, err: err.stream, env: { NO_COLOR: '1' } }, limits), ['--json', ...argv], (line) => (errors += line));
  assert.doesNotMatch(err.text() + errors, /^Error: /m);
  const report = JSON.parse(out.text()) as { broker: string; records: number; questions: Answer[] };
  return { code, err: err.text() + errors, broker: report.broker, records: report.records, byId: Object.fromEntries(report.questions.map((a) => [a.id, a])) };
}

/** One numbering across both nodes: record n is line n; each client's packets crossed its own node's relay; a connection number belongs to one node. */
function assertTrace(file: string, card: Card): TraceLine[] {
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TraceLine);
  assert.equal(lines.length, card.records);
  lines.forEach((l, i) => assert.equal(l.record, i + 1));
  const connects = lines.filter((l) => l.type === 'connect');
  assert.ok(connects.some((l) => l.node === 'A') && connects.some((l) => l.node === 'B'), 'both legs recorded');
  for (const l of connects) if (/^probe-\d+-.*-(pub|sub)$/.test(l.clientId)) assert.equal(l.node, l.clientId.endsWith('-sub') ? 'B' : 'A', l.clientId);
  const nodeOf = new Map<number, string | undefined>();
  for (const l of lines) {
    if (!nodeOf.has(l.connection)) nodeOf.set(l.connection, l.node);
    assert.equal(nodeOf.get(l.connection), l.node, `connection ${l.connection} on one node`);
  }
  for (const a of Object.values(card.byId)) for (const [from, to] of a.evidence) assert.ok(from >= 1 && to >= from && to <= card.records, `${a.id}: records ${from}-${to} of ${card.records}`);
  return lines;
}

test('aedes-cluster --quick: the publishers on node A, the subscribers on node B, both legs on one numbering; the matrix is MIN(pub, sub) across redis', needsRedis, async () => {
  const trace = join(mkdtempSync(join(tmpdir(), 'probe-cluster-')), 'trace.jsonl');
  const card = await probe(['--engine', 'aedes-cluster', '--quick', '--trace', trace]);
  assert.ok([EXIT.ok, EXIT.violation].includes(card.code as 0 | 6), `exit ${card.code}`);
  assert.match(card.broker, /^aedes cluster \(2 nodes, redis [\d.]+\): node A mqtt:\/\/127\.0\.0\.1:\d+ \(publishers\), node B mqtt:\/\/127\.0\.0\.1:\d+ \(subscribers\)/);
  // Asked of each node.
  assert.deepEqual(Object.keys(card.byId.versions!.figures), ['nodeA', 'nodeB']);
  assert.match(card.byId.versions!.fact, /^node A: .*; node B: /);
  assert.equal(card.byId.matrix!.verdict, 'conforms', card.byId.matrix!.fact);
  const cells = card.byId.matrix!.figures.delivered as { pub: number; sub: number; delivered: number | null }[];
  assert.equal(cells.find((c) => c.pub === 2 && c.sub === 2)!.delivered, 2);
  assert.match(card.byId.forward!.fact, /^on node B at QoS 2/);
  assertTrace(trace, card);
});

test('mosquitto-bridge --bridge-qos 1 --quick: QoS 2 delivered at 1, expected MIN(2, bridge 1, 2) = 1, conforms; retained QoS 2 arrives at 1 too', needsMosquitto, async () => {
  const trace = join(mkdtempSync(join(tmpdir(), 'probe-bridge-')), 'trace.jsonl');
  const card = await probe(['--engine', 'mosquitto-bridge', '--bridge-qos', '1', '--quick', '--trace', trace]);
  assert.match(card.broker, /^mosquitto [\d.]+ bridge: node A .* \(publishers\), node B .* \(subscribers\); a bridge .* at QoS 1/);
  const matrix = card.byId.matrix!;
  assert.equal(matrix.verdict, 'conforms', matrix.fact);
  assert.match(matrix.fact, /MIN\(pub, bridge 1, granted\) everywhere/);
  assert.equal(matrix.figures.bridgeQos, 1);
  const cell = (matrix.figures.delivered as { pub: number; sub: number; expected: number; delivered: number }[]).find((c) => c.pub === 2 && c.sub === 2)!;
  assert.deepEqual([cell.expected, cell.delivered], [1, 1]);
  assert.equal(card.byId.retained!.verdict, 'conforms', card.byId.retained!.fact);
  assert.match(card.byId.retained!.fact, /QoS 2 → QoS 1 RETAIN=1/);
  // Duplicates of QoS 2 across a QoS 1 bridge are what QoS 1 allows: never a broken exactly-once.
  const chaos = card.byId.chaos!;
  if (chaos.verdict === 'violates') assert.doesNotMatch(chaos.fact, /BROKEN: QoS 2 \(exactly once\) delivered \d+ duplicate/);
  if (/QoS 2: lost 0, duplicated [1-9]/.test(chaos.fact)) assert.match(chaos.fact, /which the bridge's QoS 1 allows: across it QoS 2 is delivered at MIN\(2, bridge 1, 2\) = 1/);
  assert.equal(card.byId.versions!.verdict, 'conforms');
  assertTrace(trace, card);
});

test('--pub-broker/--sub-broker: two brokers nothing joins; the matrix says less than MIN() came and that the hop is not the probe\'s to see', async (t) => {
  const a = await testBroker(t);
  const b = await testBroker(t);
  const card = await probe(['--pub-broker', a.url, '--sub-broker', b.url, '--only', 'matrix'], { answerMs: 500, quietMs: 200, stallMs: 500 });
  assert.equal(card.code, EXIT.ok);
  assert.equal(card.broker, `node A ${a.url} (publishers), node B ${b.url} (subscribers), joined by whatever joins them`);
  const matrix = card.byId.matrix!;
  assert.equal(matrix.verdict, 'differs', matrix.fact);
  assert.match(matrix.fact, /pub 1\/sub 1 got nothing.*cannot see/);
});

// A public broker's host, from its preset: this test only parses, nothing dials it.
const PUBLIC_HOST = new URL(PUBLIC_BROKERS.mosquitto!).hostname;

test('bad input across two brokers: one Error line naming the flag, exit 1', async () => {
  const cases: [string[], RegExp][] = [
    [['--pub-broker', 'mqtt://127.0.0.1:1'], /--pub-broker needs --sub-broker/],
    [['--pub-broker', 'mqtt://127.0.0.1:1', '--sub-broker', PUBLIC_HOST], new RegExp(`--sub-broker '${PUBLIC_HOST.replace(/\./g, '\\.')}' is a public test broker`)],
    [['--pub-broker', 'mqtt://127.0.0.1:1', '--sub-broker', 'mqtt://127.0.0.1:2', '--engine', 'aedes-cluster'], /--engine and --pub-broker/],
    [['--broker', 'mqtt://127.0.0.1:1', '--pub-broker', 'mqtt://127.0.0.1:1', '--sub-broker', 'mqtt://127.0.0.1:2'], /--broker and --pub-broker/],
    [['--nodes', '3'], /--nodes goes with --engine aedes-cluster/],
    [['--engine', 'aedes-cluster', '--bridge-qos', '1'], /--bridge-qos goes with --engine mosquitto-bridge/],
    [['--engine', 'mosquitto-bridge', '--bridge-qos', '3'], /--bridge-qos must be 0, 1 or 2/],
    [['--engine', 'aedes-cluster', '-u', 'user', '-P', 'pw'], /--engine aedes-cluster starts its nodes without credentials/],
  ];
  for (const [argv, want] of cases) {
    let err = '';
    const code = await settle(COMMANDS.probe, (a) => main(a, { out: new PassThrough(), err: new PassThrough(), env: {} }, LIMITS), argv, (line) => (err += line));
    assert.equal(code, EXIT.usage, argv.join(' '));
    const lines = err.split('\n').filter((l) => l.startsWith('Error: '));
    assert.equal(lines.length, 1, err);
    assert.match(lines[0]!, want);
    assert.doesNotMatch(err, /pw/);
  }
});
