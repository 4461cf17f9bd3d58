// QoS across two brokers, on real distributed parts: the aedes cluster (two
// aedes nodes over a redis-server the command starts) and the mosquitto bridge
// (B bridged to A). The lab's pairs with the publisher on A and the subscriber
// on B; the matrix's MIN() with the bridge term; a short chaos run that stops
// and restarts node B; no redis or mosquitto left behind. Without redis-server
// (or mosquitto) these skip and say so; with CI=true (or REQUIRE_REDIS=1) they run and fail.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runBench } from '../../src/bench/levels';
import { redisPath } from '../../src/broker/redis';
import { parseBench } from '../../src/cli/options';
import { runChaos, type ChaosOptions } from '../../src/chaos/chaos';
import { EXIT } from '../../src/cli/errors';
import { formatDiagram } from '../../src/lab/diagram';
import type { LaneEvent } from '../../src/lab/lanes';
import { cellOf, expectedQos, minText } from '../../src/lab/matrix';
import { buildTimeline } from '../../src/lab/timeline';
import { runPairs } from '../../src/lab/pairs';
import { QOS_LEVELS } from '../../src/mqtt/qos';
import type { TraceRecord } from '../../src/mqtt/trace';
import { testBroker } from '../support/broker';
import { runCli } from '../support/cli';
import { assertOneError, run } from '../support/in-process';
import { needsMosquitto } from '../support/mosquitto';
import { assertLabMatchesWire, witness, type Witness } from '../support/witness';
import { start } from '../../src/broker/start';

const REQUIRED = process.env.CI === 'true' || process.env.REQUIRE_REDIS === '1';
const needsRedis = { skip: redisPath() === null && !REQUIRED ? 'redis-server is not installed (bash scripts/install-redis.sh); CI=true makes this fail' : false };

test('MIN() across a bridge has three terms; without one, two', () => {
  assert.equal(expectedQos(2, 2, 1), 1);
  assert.equal(expectedQos(2, 1, 2), 1);
  assert.equal(expectedQos(1, 2, 0), 0);
  assert.equal(expectedQos(2, 2), 2);
  assert.equal(minText({ publishQos: 2, subscribeQos: 1, bridgeQos: 0 }), 'MIN(2, bridge 0, 1)');
});

test('four rails across two nodes: each leg ends at its node, the hop between them', () => {
  const ids = { publisherId: 'p', subscriberId: 's' };
  const publish = { cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: 7 } as const;
  const events: LaneEvent[] = [
    { at: 1, lane: 'publisher', direction: 'send', packet: publish },
    { at: 1.1, lane: 'broker', node: 0, clientId: 'p', direction: 'receive', packet: publish },
    { at: 3, lane: 'broker', node: 1, clientId: 's', direction: 'send', packet: { ...publish, messageId: 1 } },
    { at: 3.1, lane: 'subscriber', direction: 'receive', packet: { ...publish, messageId: 1 } },
  ];
  const across = { nodes: { publisher: 'A', subscriber: 'B' }, hopSeenBy: 'bridge tap' as const, hops: [{ at: 2, toward: 'subscriber-node' as const, packet: { ...publish, messageId: 3 }, broadcast: false }], bridgeQos: 1 as const };
  const lines = formatDiagram(buildTimeline(events, ids, [], null, across), { verbose: false, color: false });
  assert.match(lines[0]!, /^ +ms Publisher +Node A +Node B +Subscriber$/);
  assert.match(lines[1]!, /^ +0\.00 \|-+ PUBLISH q1 id=7 -+>\| +\| +\|$/);
  assert.match(lines[2]!, /^ +0\.90 \| +\|=+ PUBLISH q1 id=3 =+>\| +\| {2}\(the bridge\)$/);
  assert.match(lines[3]!, /^ +1\.90 \| +\| +\|-+ PUBLISH q1 id=1 -+>\|$/);
});

const NINE = { protocol: 4 as const, pubs: QOS_LEVELS, subs: QOS_LEVELS, message: 'hello' };

test('lab on aedes-cluster: nine pairs, publisher on node A, subscriber on node B, the hop seen on redis, delivered = MIN(pub, sub) read on B', needsRedis, async () => {
  const pairs = await runPairs({ ...NINE, engine: 'aedes-cluster', topic: 'cluster-lab' }, () => undefined, () => undefined);
  assert.equal(pairs.length, 9);
  for (const pair of pairs) {
    const cell = cellOf(pair);
    const name = `pub ${pair.publishQos} / sub ${pair.subscribeQos}`;
    assert.equal(cell.delivered, Math.min(pair.publishQos, pair.subscribeQos), name);
    assert.equal(cell.mismatch, false, name);
    // Redis carries aedes's packet object with the publisher's QoS; node B applies the subscription's.
    assert.equal(cell.hopQos, pair.publishQos, `${name}: the message on redis`);
    assert.equal(pair.timeline.across?.hopSeenBy, 'redis');
    // Each leg's broker end is its own node: the subscriber's packets come from B's tap only.
    const brokerSide = pair.timeline.arrows.filter((a) => a.from === 'broker' || a.to === 'broker');
    assert.ok(brokerSide.every((a) => a.records.some((r) => r.lane === 'broker' && r.node === (a.leg === 'publisher' ? 0 : 1))), `${name}: every arrow has its node's tap record`);
  }
});

test('npm start -- --engine aedes-cluster: four rails, the redis hop drawn, exit 0', needsRedis, async () => {
  const o = await run('lab', ['--engine', 'aedes-cluster', '--pub', '1', '--sub', '2']);
  assert.equal(o.code, EXIT.ok, o.err);
  assert.match(o.out, /^ +ms Publisher +Node A +Node B +Subscriber$/m);
  assert.match(o.out, /\|=+ PUBLISH q1 =+>\| +\| {2}\(redis pub\/sub, to every node\)$/m);
  assert.match(o.out, /delivered at QoS 1 \(MIN\(1, 2\) = 1\)/);
});

test('lab on mosquitto-bridge --bridge-qos 1: the bridge term in MIN(), its packets tapped; QoS 2 arrives at 1', needsMosquitto, async () => {
  const pairs = await runPairs({ ...NINE, engine: 'mosquitto-bridge', bridgeQos: 1, topic: 'bridge-lab' }, () => undefined, () => undefined);
  for (const pair of pairs) {
    const cell = cellOf(pair);
    const name = `pub ${pair.publishQos} / sub ${pair.subscribeQos}`;
    const expected = Math.min(pair.publishQos, 1, pair.subscribeQos);
    assert.equal(cell.expected, expected, name);
    assert.equal(cell.delivered, expected, name);
    assert.equal(cell.hopQos, Math.min(pair.publishQos, 1), `${name}: the bridge's PUBLISH`);
  }
  const q22 = pairs.find((p) => p.publishQos === 2 && p.subscribeQos === 2)!;
  // On the hop: the bridge's PUBLISH q1 from A and B's PUBACK back, as the relay read them.
  assert.deepEqual(
    q22.timeline.across!.hops.map((h) => `${h.toward === 'subscriber-node' ? 'A>B' : 'B>A'} ${h.packet.cmd}${h.packet.cmd === 'publish' ? ` q${h.packet.qos}` : ''}`),
    ['A>B publish q1', 'B>A puback'],
  );
});

test('npm start -- --engine mosquitto-bridge --bridge-qos 0: pub 2 / sub 2 delivered at 0, the matrix says MIN(pub, bridge 0, sub)', needsMosquitto, async () => {
  const o = await run('lab', ['--engine', 'mosquitto-bridge', '--bridge-qos', '0', '--pub', '2', '--sub', '2']);
  assert.equal(o.code, EXIT.ok, o.err);
  assert.match(o.out, /delivered at QoS 0 \(MIN\(2, bridge 0, 2\) = 0\)/);
  assert.match(o.out, /\[MIN\(pub, bridge 0, sub\) expected\]/);
  assert.match(o.out, /^pub 2 {3}0 \[0\] /m);
  assert.match(o.out, /\|=+ PUBLISH q0 =+>\| +\| {2}\(the bridge\)$/m);
});

test('--pub-broker/--sub-broker on running brokers: node lanes derived from the client legs, the hop not observed', async (t) => {
  const broker = await testBroker(t);
  // One aedes under two names: the legs are on different URLs, nothing of ours sees between them.
  const o = await run('lab', ['--pub-broker', `127.0.0.1:${broker.port}`, '--sub-broker', `localhost:${broker.port}`, '--pub', '1', '--sub', '1']);
  assert.equal(o.code, EXIT.ok, o.err);
  assert.match(o.out, /Node A \(derived\) +Node B \(derived\)/);
  assert.match(o.out, /the hop between the nodes is not observed: derived/);
  assert.match(o.out, /delivered at QoS 1/);
});

test('bench --pub-broker/--sub-broker: the publisher on one URL, the subscriber on another, every message counted', async (t) => {
  const broker = await testBroker(t);
  const parsed = parseBench(['--pub-broker', `127.0.0.1:${broker.port}`, '--sub-broker', `localhost:${broker.port}`, '--qos', '1', '--count', '200']);
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') return;
  const bench = await runBench(parsed.options);
  assert.match(bench.info.broker, /^mqtt:\/\/127\.0\.0\.1:\d+ \(publisher\), mqtt:\/\/localhost:\d+ \(subscriber\)$/);
  const [q1] = bench.results;
  assert.deepEqual([q1!.accounting.unique, q1!.accounting.lost], [200, 0]);
  // One broker under two names: both clients reached it, once each.
  assert.equal(broker.events.filter((e) => e.packet.cmd === 'connect').length, 2);
});

test('cluster flags: each wrong one is one Error: line naming it, exit 1', async () => {
  assertOneError(await run('lab', ['--nodes', '3']), EXIT.usage, /--nodes goes with --engine aedes-cluster/, 5000);
  assertOneError(await run('lab', ['--engine', 'mosquitto-bridge', '--bridge-qos', '3']), EXIT.usage, /--bridge-qos must be 0, 1 or 2, got '3'/, 5000);
  assertOneError(await run('lab', ['--pub-broker', '127.0.0.1:1']), EXIT.usage, /--pub-broker needs --sub-broker/, 5000);
  assertOneError(await run('lab', ['--pub-broker', 'a@b', '--sub-broker', '127.0.0.1']), EXIT.usage, /^Error: --pub-broker '\*\*\*@b': pass credentials/, 5000);
  assertOneError(await run('lab', ['--engine', 'aedes-cluster', '--pub-broker', '127.0.0.1', '--sub-broker', '127.0.0.1']), EXIT.usage, /--engine and --pub-broker\/--sub-broker exclude each other/, 5000);
});

const SHORT: Omit<ChaosOptions, 'engine' | 'qos'> = { count: 300, cut: { minMs: 100, maxMs: 300 }, seed: 3, burst: false, rate: 300, restartNode: 'B' };

for (const [engine, needs] of [['aedes-cluster', needsRedis], ['mosquitto-bridge', needsMosquitto]] as const) {
  test(`chaos on ${engine}: publisher on A, persistent subscriber on B, node B stopped and started again; the report accounts for it`, needs, async () => {
    const lines: string[] = [];
    const report = await runChaos({ ...SHORT, engine, qos: [1] }, (line) => lines.push(line));
    const [q1] = report.runs;
    const text = lines.join('\n');
    assert.match(text, /the publisher on node A mqtt:\/\/127\.0\.0\.1:\d+, the persistent subscriber on node B mqtt:\/\/127\.0\.0\.1:\d+/);
    assert.equal(q1!.tally.sent, 300);
    const restart = q1!.restart!;
    assert.ok(restart, 'node B was restarted');
    assert.equal(restart.failed, undefined);
    assert.ok(restart.upAt !== null && restart.upAt - restart.stoppedAt >= 1, 'down for at least RESTART_DOWN_MS');
    assert.ok(restart.issuedWhileDown > 0, 'messages went out while B was away');
    // Whatever the cluster did is the result: the split adds up to what was lost, and the line says it.
    assert.equal(restart.lostWhileDown + restart.lostOtherwise, q1!.tally.lost);
    assert.match(text, /node B stopped at [\d.]+ s, was listening again at [\d.]+ s, its client reconnected at [\d.]+ s; \d+ message\(s\) issued in between; lost: \d+ of those, \d+ others/);
    assert.ok(q1!.reconnects.subscriber >= 1, `the subscriber came back to B:\n${text}`);
    // Plain aedes on redis sent PUBLISHes before the CONNACK of a resumed session; our nodes hold them (src/broker/cluster.ts).
    assert.deepEqual(q1!.connackNotFirst, { publisher: 0, subscriber: 0 }, text);
  });
}

/** The direct children of `pid` whose command matches. */
function children(pid: number, match: RegExp): { pid: number; command: string }[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .trim()
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && match.test(m[2]!))
    .map((m) => ({ pid: Number(m[1]), command: m[2]! }));
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  return existsSync(`/proc/${pid}/stat`) && / Z /.test(execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' }));
}

test('chaos --engine aedes-cluster, SIGTERM: exits 143, redis-server gone', needsRedis, async (t) => {
  const child = runCli('chaos', ['--engine', 'aedes-cluster', '--count', '100000', '--rate', '200', '--qos', '1'], { t });
  await child.waitFor(/^broker: aedes cluster/m);
  const redis = children(child.child.pid!, /redis-server/);
  assert.equal(redis.length, 1, 'one redis-server child');
  child.child.kill('SIGTERM');
  const done = await child.done;
  assert.equal(done.code, EXIT.terminated, done.stderr);
  assert.equal(done.stderr, '');
  assert.ok(gone(redis[0]!.pid), 'redis-server gone');
});

test('npm run broker --engine mosquitto-bridge, SIGINT: both mosquittos and their folders gone', needsMosquitto, async (t) => {
  const child = runCli('broker', ['--engine', 'mosquitto-bridge', '--quiet'], { t });
  const out = await child.waitFor(/listening on/);
  assert.match(out, /node A on mqtt:\/\/127\.0\.0\.1:\d+, node B on mqtt:\/\/127\.0\.0\.1:\d+; a bridge from B to A at QoS 1/);
  const mosquittos = children(child.child.pid!, /mosquitto -c/);
  assert.equal(mosquittos.length, 2);
  const dirs = mosquittos.map((m) => /-c (\S+)\/mosquitto\.conf/.exec(m.command)![1]!);
  child.child.kill('SIGINT');
  await child.done;
  for (const m of mosquittos) assert.ok(gone(m.pid), `${m.command} gone`);
  for (const dir of dirs) assert.ok(!existsSync(dir), `${dir} removed`);
});

/** The lab's --trace across two nodes: the records of one pair. */
async function traceAcross(t: TestContext, args: string[]): Promise<TraceRecord[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cluster-trace-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'trace.jsonl');
  const o = await run('lab', [...args, '--pub', '1', '--sub', '1', '--trace', file]);
  assert.equal(o.code, EXIT.ok, o.err);
  return readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as TraceRecord);
}

test('--trace on aedes-cluster: node taps name their node; the hop is records of its own, seen on redis, without MQTT bytes', needsRedis, async (t) => {
  const records = await traceAcross(t, ['--engine', 'aedes-cluster']);
  const taps = records.filter((r) => r.seenBy === 'broker');
  assert.ok(taps.length > 0);
  for (const r of taps) assert.equal(r.node, r.leg === 'publisher' ? 'A' : 'B', JSON.stringify(r));
  const hops = records.filter((r) => r.leg === 'hop');
  assert.deepEqual(hops.map((r) => [r.seenBy, r.node, r.direction, r.type, r.qos, r.bytes]), [['redis', 'A', 'send', 'publish', 1, undefined]]);
  assert.ok(hops.every((r) => !('messageId' in r)), 'no packet id: the message on redis is not an MQTT flow');
  // In the timeline's order: after node A received the PUBLISH, before node B sent it on.
  const at = (pred: (r: TraceRecord) => boolean) => records.findIndex(pred);
  const hop = at((r) => r.leg === 'hop');
  assert.ok(at((r) => r.node === 'A' && r.type === 'publish') < hop && hop < at((r) => r.node === 'B' && r.type === 'publish'));
  // Clients' records stay as they were: no node.
  assert.ok(records.filter((r) => r.seenBy === 'publisher' || r.seenBy === 'subscriber').every((r) => r.node === undefined));
});

test('--trace on mosquitto-bridge: the bridge\'s PUBLISH from A and its PUBACK from B, with their wire sizes', needsMosquitto, async (t) => {
  const records = await traceAcross(t, ['--engine', 'mosquitto-bridge']);
  const hops = records.filter((r) => r.leg === 'hop');
  // B may hand the message to its subscriber before it answers the bridge: the pair can end before that PUBACK crosses (then it is not in the trace).
  const seen = hops.map((r) => [r.seenBy, r.node, r.type]);
  assert.deepEqual(seen.slice(0, 1), [['bridge', 'A', 'publish']]);
  assert.deepEqual(seen.slice(1), seen.length > 1 ? [['bridge', 'B', 'puback']] : []);
  assert.ok(hops.every((r) => typeof r.bytes === 'number' && r.bytes >= 4));
  assert.ok(records.filter((r) => r.seenBy === 'broker').every((r) => r.node === (r.leg === 'publisher' ? 'A' : 'B')));
});

test('witness across two brokers: each leg\'s arrows and records equal what crossed the wire in front of its node (mosquitto bridge, QoS 1)', needsMosquitto, async (t) => {
  const bridge = await start('mosquitto-bridge', { bridgeQos: 1 });
  t.after(() => bridge.close());
  const [a, b] = bridge.nodes!;
  const [wireA, wireB] = [await witness(t, a!.url), await witness(t, b!.url)];
  const pairs = await runPairs({ pubUrl: wireA.url, subUrl: wireB.url, protocol: 4, pubs: QOS_LEVELS, subs: QOS_LEVELS, topic: 'witness-across', message: 'hello' }, () => undefined, () => undefined);
  await Promise.all([wireA.settled(), wireB.settled()]);
  assert.ok(pairs.every((p) => cellOf(p).delivered !== null), 'every pair delivered');
  // Each client is on one node only: the witness of its node has its connections.
  const both = { of: (id: string | RegExp) => [...wireA.of(id), ...wireB.of(id)] } as Witness;
  assertLabMatchesWire(pairs, both);
});
