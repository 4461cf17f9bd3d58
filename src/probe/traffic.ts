// The questions numbered traffic answers: what a broker acknowledges and then
// never delivers to a slow subscriber, whether it keeps each topic's order, and
// whether exactly-once survives connection cuts (the chaos check, src/chaos/).
import type { Connection } from '../mqtt/connection';
import { subscribe } from '../mqtt/subscriber';
import { account } from '../numbered/tally';
import { runChaos, type QosRun } from '../chaos/chaos';
import { verdict } from '../chaos/accounting';
import { effectiveQos } from '../mqtt/qos';
import type { Answer } from './answer';
import type { ProbeRecord } from './recorder';
import { close, publishBatch, tallying, toldPublishers, toldText } from './batch';
import { answer, client, connectionOf, forget, settled, topic, type Probe } from './probe';

type Found = Omit<Answer, 'seconds'>;

/**
 * A subscriber that takes one PUBLISH and then acknowledges nothing (MQTT.js
 * handles no further packet until its ack hook answers) while `burst` QoS 1
 * messages are published; then it catches up. Whatever the publisher had
 * acknowledged and the subscriber never got, the broker dropped.
 */
export async function burst(p: Probe): Promise<Found> {
  const name = topic(p, 'burst');
  const count = p.sizes.burst;
  const { tally, prepare } = tallying(count);
  let hold = true;
  const held: (() => void)[] = [];
  let sub: Connection | undefined;
  try {
    sub = await client(p, 'burst-sub', {
      prepare: (c) => {
        prepare(c);
        c.options.customHandleAcks = (_topic, _message, _packet, done) => (hold ? held.push(() => done(0)) : done(0));
      },
    });
    await subscribe(sub, name, 1, p.limits.answerMs, null);
    const since = p.rec.records.length;
    // MQTT 5 where the broker speaks it: its PUBACK could then say it will not deliver (0x97 quota exceeded).
    const protocol = p.v5 ? 5 : 4;
    const batch = await publishBatch(p, 'burst-pub', name, 1, count, 20, protocol);
    hold = false;
    for (const release of held.splice(0)) release();
    const conn = connectionOf(p, 'burst-sub');
    await settled(p, (r) => r.connection === conn, () => tally.unique >= batch.issued, 10 * p.limits.stallMs);
    const summary = account(tally, batch.acked, batch.issued);
    const records = p.rec.records.slice(since);
    const evidence = [records];
    const told = toldPublishers(p, ['burst-pub'], since, protocol);
    const figures = { published: batch.issued, acknowledged: batch.ackedCount, delivered: summary.unique, acknowledgedNeverDelivered: summary.ackedButLost, duplicated: summary.duplicated, publisher: { protocol: protocol === 5 ? '5' : '3.1.1', reasonCodes: told.codes } };
    const tell = summary.ackedButLost > 0 || protocol === 5 ? `; ${toldText(told)}` : '';
    const fact = `${batch.issued} QoS 1 published (${batch.ackedCount} acknowledged) to a subscriber that acknowledged nothing until the end: ${summary.unique} delivered, ${summary.ackedButLost} acknowledged to the publisher and never delivered${tell}`;
    if (summary.ackedButLost > 0) p.queueLimit ??= summary.unique;
    if (summary.ackedButLost > 0) return answer('burst', 'differs', `${fact}: a PUBACK means the broker took the message, not that a slow subscriber will get it (a queue limit)`, figures, evidence);
    if (batch.problem) return answer('burst', 'unmeasured', `${fact}; the publisher: ${batch.problem}`, figures, evidence);
    return answer('burst', 'conforms', fact, figures, evidence, 'MQTT-4.3.2-2');
  } finally {
    hold = false;
    for (const release of held.splice(0)) release();
    await close(sub, p);
  }
}

/** `order` numbered messages per level, a window of 20 in flight, to a persistent subscriber: the order, and anything lost or doubled without a single cut. */
export async function order(p: Probe): Promise<Found> {
  const count = p.sizes.order;
  const lines: string[] = [];
  const figures: Record<string, unknown> = {};
  const broken: { rule: string; text: string }[] = [];
  // Acknowledged and then dropped, where an earlier question found the broker's queue limit: that limit, not a broken rule.
  const dropped: string[] = [];
  const evidence: ProbeRecord[][] = [];
  for (const qos of ([1, 2] as const).filter((q) => !p.refusedQos.has(q))) {
    const name = topic(p, 'order', `q${qos}`);
    const { tally, prepare } = tallying(count);
    const role = `order-q${qos}-sub`;
    const sub = await client(p, role, { clean: false, prepare });
    try {
      await subscribe(sub, name, qos, p.limits.answerMs, null);
      const since = p.rec.records.length;
      const batch = await publishBatch(p, `order-q${qos}-pub`, name, qos, count);
      await settled(p, (r) => r.connection === connectionOf(p, role), () => tally.unique >= batch.issued, 10 * p.limits.stallMs);
      const s = account(tally, batch.acked, batch.issued);
      figures[`qos${qos}`] = { published: batch.issued, delivered: s.unique, outOfOrder: s.outOfOrder, lost: s.lost, duplicated: s.duplicated, problem: batch.problem };
      const order = s.outOfOrder === 0 ? 'in order' : `${s.outOfOrder} out of order`;
      lines.push(`QoS ${qos}: ${s.unique} of ${batch.issued} delivered, ${order}${s.lost ? `, ${s.lost} lost` : ''}${s.duplicated ? `, ${s.duplicated} duplicated` : ''}${batch.problem ? ` (${batch.problem})` : ''}`);
      evidence.push(p.rec.records.slice(since));
      if (s.outOfOrder > 0) broken.push({ rule: 'MQTT-4.6.0-6', text: `QoS ${qos} delivered out of order` });
      if (s.ackedButLost > 0 && p.queueLimit !== null) dropped.push(`QoS ${qos} lost ${s.ackedButLost} it had acknowledged`);
      else if (s.ackedButLost > 0) broken.push({ rule: qos === 1 ? 'MQTT-4.3.2-2' : 'MQTT-4.3.3-2', text: `QoS ${qos} lost ${s.ackedButLost} it had acknowledged, with no cut` });
      if (qos === 2 && s.duplicated > 0) broken.push({ rule: 'MQTT-4.3.3-2', text: `QoS 2 delivered ${s.duplicated} twice, with no cut` });
    } finally {
      await close(sub, p);
      await forget(p, role);
    }
  }
  const skipped = [...p.refusedQos].map((q) => `QoS ${q} not tested (the broker refuses it)`);
  const fact = `${[...lines, ...skipped].join('; ')} (window 20, no cuts, persistent subscriber)`;
  if (broken.length > 0) return answer('order', 'violates', `${fact}: ${broken.map((b) => b.text).join('; ')}`, figures, evidence, broken[0]!.rule);
  if (dropped.length > 0) return answer('order', 'differs', `${fact}: ${dropped.join('; ')}, as the queue limit found above (about ${p.queueLimit}) drops them`, figures, evidence);
  return answer('order', 'conforms', fact, figures, evidence, 'MQTT-4.6.0-6');
}

/** The chaos check (src/chaos/chaos.ts), short and seeded, through the recorder: each connection cut every few hundred ms. */
export async function chaos(p: Probe): Promise<Found> {
  const since = p.rec.records.length;
  const levels = ([0, 1, 2] as const).filter((q) => !p.refusedQos.has(q));
  const report = await runChaos(
    // Across two brokers chaos's own legs: its publisher on node A, its persistent subscriber on node B.
    { engine: 'aedes', ...(p.across ? { legs: { pubUrl: p.rec.url, subUrl: p.rec.subUrl } } : { broker: p.rec.url }), connection: p.connection, count: p.sizes.chaosCount, qos: levels, cut: p.sizes.cut, seed: 1, burst: false, rate: p.sizes.chaosRate },
    () => undefined,
    { answerMs: p.limits.answerMs, stallMs: p.limits.stallMs },
  );
  const records = p.rec.records.slice(since);
  const cuts = report.runs.reduce((n, r) => n + r.cuts.publisher + r.cuts.subscriber, 0);
  const line = (r: QosRun) => `QoS ${r.qos}: lost ${r.tally.lost}, duplicated ${r.tally.duplicated}${r.stalled ? ' (stalled)' : ''}`;
  const skipped = [...p.refusedQos].map((q) => `QoS ${q} not tested (the broker refuses it)`);
  const fact = `${p.sizes.chaosCount} per level, cuts every ${p.sizes.cut.minMs}-${p.sizes.cut.maxMs} ms (seed 1, ${cuts} cuts): ${[...report.runs.map(line), ...skipped].join('; ')}`;
  const figures = Object.fromEntries(report.runs.map((r) => [`qos${r.qos}`, { ...r.tally, cuts: r.cuts, reconnects: r.reconnects, stalled: r.stalled, verdict: r.verdict.text }]));
  const evidence = [records];
  // Across a bridge below QoS 2 the subscriber is promised only MIN(qos, bridge): a run that keeps that lesser promise was downgraded, not broken.
  const bridge = p.across?.bridgeQos;
  const downgraded = report.runs.filter((r) => !r.verdict.kept && !r.stalled && bridge !== undefined && r.qos > bridge && verdict(effectiveQos(r.qos, bridge), r.tally).kept);
  const failed = report.runs.filter((r) => !r.verdict.kept && !r.stalled && !downgraded.includes(r));
  // Lost after an acknowledgement, where an earlier question found the broker's queue limit: that limit. A QoS 2 duplicate no limit explains.
  const limited = p.queueLimit === null ? [] : failed.filter((r) => r.tally.duplicated === 0 || r.qos === 1);
  const broken = failed.filter((r) => !limited.includes(r));
  if (broken.length > 0) {
    const worst = broken.at(-1)!;
    return answer('chaos', 'violates', `${fact}: ${broken.map((r) => r.verdict.text).join('; ')}`, figures, evidence, worst.qos === 2 ? 'MQTT-4.3.3-2' : 'MQTT-4.3.2-2');
  }
  if (downgraded.length > 0) return answer('chaos', 'differs', `${fact}: ${downgraded.map((r) => `QoS ${r.qos} ${r.tally.duplicated} duplicated, ${r.tally.lost} lost, which the bridge's QoS ${bridge} allows: across it QoS ${r.qos} is delivered at MIN(${r.qos}, bridge ${bridge}, ${r.qos}) = ${effectiveQos(r.qos, bridge!)}`).join('; ')}`, figures, evidence);
  if (limited.length > 0) return answer('chaos', 'differs', `${fact}: ${limited.map((r) => `QoS ${r.qos} lost ${r.tally.ackedButLost} it had acknowledged`).join('; ')}, as the queue limit found above (about ${p.queueLimit}) drops them`, figures, evidence);
  if (report.runs.some((r) => r.stalled)) return answer('chaos', 'unmeasured', `${fact}: ${report.runs.filter((r) => r.stalled).map((r) => r.verdict.text).join('; ')}`, figures, evidence);
  return answer('chaos', 'conforms', fact, figures, evidence, 'MQTT-4.3.3-2');
}
