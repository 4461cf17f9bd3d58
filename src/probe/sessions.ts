// The questions about a persistent session: what a resumed subscriber gets
// again, what the broker keeps while it is away, retained messages, and MQTT 5
// session expiry. Every figure is counted from the recorder's records.
import type { Connection } from '../mqtt/connection';
import { publishAll } from '../mqtt/publisher';
import { effectiveQos, type QoS } from '../mqtt/qos';
import { collectDeliveries, subscribe } from '../mqtt/subscriber';
import { seqOf } from '../numbered/payload';
import { newTally, record, account } from '../numbered/tally';
import type { Answer } from './answer';
import { close, publishBatch, toldPublishers, toldText, type Batch } from './batch';
import { answer, client, connectionOf, forget, publishesOn, settled, topic, type Probe } from './probe';
import type { ProbeRecord } from './recorder';

type Found = Omit<Answer, 'seconds'>;
type Publish = ProbeRecord & { packet: Extract<ProbeRecord['packet'], { cmd: 'publish' }> };

const REDELIVER = 3;

/** The PUBLISHes of one level below `base`, by the level's last part (`q1`, `fill`). */
function byLevel(records: readonly Publish[], base: string, level: string): Publish[] {
  return records.filter((r) => r.packet.topic === `${base}/${level}`);
}

function seqs(records: readonly Publish[]): (number | null)[] {
  return records.map((r) => seqOf(r.packet.payload as Buffer));
}

/**
 * A subscriber takes PUBLISHes at QoS 1 and 2 but acknowledges none, goes away
 * (DISCONNECT, session kept), and comes back: the broker must send them again,
 * with their ids, DUP=1, in their order.
 */
export async function redelivery(p: Probe): Promise<Found> {
  const base = topic(p, 'redeliver');
  const role = 'redeliver-sub';
  let first: Connection | undefined;
  let second: Connection | undefined;
  try {
    first = await client(p, role, { clean: false, prepare: (c) => collectDeliveries(c, () => undefined).stop() });
    await subscribe(first, `${base}/#`, 2, p.limits.answerMs, null);
    const firstConn = connectionOf(p, role);
    const batches: Record<number, Batch> = {};
    for (const qos of [1, 2] as const) batches[qos] = await publishBatch(p, `redeliver-q${qos}-pub`, `${base}/q${qos}`, qos, REDELIVER, 1);
    const sentFirst = () => publishesOn(p, firstConn).filter((r) => r.packet.qos > 0);
    const expected = batches[1]!.ackedCount + batches[2]!.ackedCount;
    await settled(p, (r) => r.connection === firstConn, () => sentFirst().length >= expected, p.limits.answerMs);
    await first.end(0);
    const before = sentFirst();
    second = await client(p, role, { clean: false, prepare: (c) => collectDeliveries(c, () => undefined) });
    const secondConn = connectionOf(p, role);
    await settled(p, (r) => r.connection === secondConn, () => publishesOn(p, secondConn).length >= before.length, p.limits.answerMs);
    const after = publishesOn(p, secondConn);
    const refused = ([1, 2] as const).filter((q) => batches[q]!.ackedCount === 0).map((q) => `QoS ${q} (${batches[q]!.problem ?? 'not acknowledged'})`);
    const lines: string[] = [];
    const figures: Record<string, unknown> = {};
    let missing = 0;
    let withoutDup = 0;
    let reordered = 0;
    let newIds = 0;
    for (const qos of [1, 2] as const) {
      const was = byLevel(before, base, `q${qos}`);
      if (was.length === 0) continue;
      const again = byLevel(after, base, `q${qos}`);
      const resent = again.filter((r) => was.some((w) => w.packet.messageId === r.packet.messageId || seqOf(w.packet.payload as Buffer) === seqOf(r.packet.payload as Buffer)));
      const dup = resent.filter((r) => r.packet.dup).length;
      const sameIds = resent.filter((r) => was.some((w) => w.packet.messageId === r.packet.messageId)).length;
      const inOrder = seqs(resent).join() === seqs(was).slice(0, resent.length).join();
      missing += was.length - resent.length;
      withoutDup += resent.length - dup;
      newIds += resent.length - sameIds;
      if (!inOrder) reordered++;
      figures[`qos${qos}`] = { unacknowledged: was.length, resent: resent.length, dup1: dup, sameIds, inOrder };
      lines.push(`QoS ${qos}: ${resent.length} of ${was.length} unacknowledged resent, ${dup} with DUP=1${resent.length > 1 ? (inOrder ? ', in order' : ', OUT OF ORDER') : ''}`);
    }
    const fact = `${lines.join('; ') || 'nothing was delivered unacknowledged'}${refused.length ? `; not tested: ${refused.join(', ')}` : ''}`;
    const evidence = [before, after];
    if (before.length === 0) return answer('redelivery', 'unmeasured', fact, figures, evidence);
    if (missing > 0) return answer('redelivery', 'violates', `${fact}: a resumed session must get every unacknowledged PUBLISH again`, figures, evidence, 'MQTT-4.4.0-1');
    if (withoutDup > 0) return answer('redelivery', 'violates', `${fact}: a PUBLISH sent again must carry DUP=1`, figures, evidence, 'MQTT-3.3.1-1');
    if (newIds > 0) return answer('redelivery', 'violates', `${fact}: resent under new packet ids`, figures, evidence, 'MQTT-4.4.0-1');
    if (reordered > 0) return answer('redelivery', 'violates', `${fact}: resends must keep the original order`, figures, evidence, 'MQTT-4.6.0-1');
    return answer('redelivery', 'conforms', fact, figures, evidence, 'MQTT-3.3.1-1');
  } finally {
    await close(first, p);
    await close(second, p);
    await forget(p, role);
  }
}

const OFFLINE_EACH = 3;

/**
 * A persistent subscriber goes away; QoS 0, 1 and 2 messages are published,
 * then `offlineFill` more at QoS 1 to find where the broker's queue ends. Back
 * online, what came?
 */
export async function offline(p: Probe): Promise<Found> {
  const base = topic(p, 'offline');
  const role = 'offline-sub';
  const fill = p.sizes.offlineFill;
  let back: Connection | undefined;
  try {
    const away = await client(p, role, { clean: false });
    await subscribe(away, `${base}/#`, 2, p.limits.answerMs, null);
    await away.end(p.limits.answerMs);
    const since = p.rec.records.length;
    const batches: Record<string, Batch> = {};
    // Over MQTT 5 where the broker speaks it: a PUBACK or PUBREC then has room to say the message went nowhere (0x10) or over a quota (0x97).
    const protocol = p.v5 ? 5 : 4;
    for (const qos of [0, 1, 2] as const) batches[`q${qos}`] = await publishBatch(p, `offline-q${qos}-pub`, `${base}/q${qos}`, qos, OFFLINE_EACH, 1, protocol);
    batches.fill = await publishBatch(p, 'offline-fill-pub', `${base}/fill`, 1, fill, 20, protocol);
    back = await client(p, role, { clean: false });
    const conn = connectionOf(p, role);
    const total = Object.values(batches).reduce((n, b) => n + b.issued, 0);
    await settled(p, (r) => r.connection === conn, () => publishesOn(p, conn).length >= total, 10 * p.limits.stallMs);
    const came = publishesOn(p, conn);
    const kept = (level: string) => new Set(seqs(byLevel(came, base, level))).size;
    const figures: Record<string, unknown> = {};
    for (const [level, b] of Object.entries(batches)) figures[level] = { published: b.issued, acknowledged: level === 'q0' ? null : b.ackedCount, kept: kept(level), problem: b.problem };
    const tally = newTally(fill);
    for (const s of seqs(byLevel(came, base, 'fill'))) record(tally, s);
    const lostAfterAck = account(tally, batches.fill!.acked, batches.fill!.issued).ackedButLost;
    const told = toldPublishers(p, ['offline-q1-pub', 'offline-q2-pub', 'offline-fill-pub'], since, protocol);
    figures.publisher = { protocol: protocol === 5 ? '5' : '3.1.1', reasonCodes: told.codes };
    const queued = kept('q1') + kept('q2') + kept('fill');
    figures.queuedQos12 = queued;
    figures.acknowledgedThenDropped = lostAfterAck;
    const level = (q: QoS) => {
      const b = batches[`q${q}`]!;
      return b.issued === 0 || (q > 0 && b.ackedCount === 0) ? `QoS ${q} not accepted (${b.problem ?? 'no acknowledgement'})` : `QoS ${q} ${kept(`q${q}`)} of ${b.issued} kept`;
    };
    const fillText =
      lostAfterAck > 0
        ? `of ${fill} more at QoS 1, ${kept('fill')} kept: the queue ends at about ${queued} QoS 1/2 messages; ${lostAfterAck} were acknowledged with PUBACK and then dropped; ${toldText(told)}`
        : `of ${fill} more at QoS 1, ${kept('fill')} kept (no queue limit up to ${queued})${protocol === 5 ? `; ${toldText(told)}` : ''}`;
    const fact = `${([0, 1, 2] as const).map(level).join(', ')}; ${fillText}`;
    const evidence = [came, told.answers.slice(0, 1), told.answers.filter((r) => ((r.packet as { reasonCode?: number }).reasonCode ?? 0) !== 0)];
    const acceptedButGone = ([1, 2] as const).filter((q) => batches[`q${q}`]!.ackedCount > 0 && kept(`q${q}`) === 0);
    if (acceptedButGone.length > 0) return answer('offline', 'violates', `${fact}: a session with clean=false must keep QoS 1 and 2 messages while its client is away`, figures, evidence, 'MQTT-3.1.2-5');
    if (lostAfterAck > 0) {
      p.queueLimit = queued;
      return answer('offline', 'differs', fact, figures, evidence);
    }
    return answer('offline', 'conforms', fact, figures, evidence, 'MQTT-3.1.2-5');
  } finally {
    await close(back, p);
    await forget(p, role);
  }
}

/** A retained message at each QoS; a new subscriber (QoS 2) must get each with RETAIN=1 at the QoS it was published with. */
export async function retained(p: Probe): Promise<Found> {
  const base = topic(p, 'retained');
  const problems: Record<number, string> = {};
  for (const qos of [0, 1, 2] as const) {
    const pub = await client(p, `retained-q${qos}-pub`);
    try {
      await publishAll(pub, { topic: `${base}/q${qos}`, qos, message: `retained at QoS ${qos}`, count: 1, interval: 0, retain: true, ackTimeoutMs: p.limits.answerMs });
    } catch (error) {
      problems[qos] = (error as Error).message;
    } finally {
      await close(pub, p);
    }
  }
  const accepted = ([0, 1, 2] as const).filter((q) => problems[q] === undefined);
  const sub = await client(p, 'retained-sub');
  let came: Publish[] = [];
  try {
    await subscribe(sub, `${base}/+`, 2, p.limits.answerMs, null);
    const conn = connectionOf(p, 'retained-sub');
    await settled(p, (r) => r.connection === conn, () => publishesOn(p, conn).length >= accepted.length, p.limits.answerMs);
    came = publishesOn(p, conn);
  } finally {
    await close(sub, p);
    // Clear what the probe retained: an empty retained message removes it [MQTT-3.3.1-10].
    const cleaner = await client(p, 'retained-clear-pub').catch(() => null);
    if (cleaner) {
      await publishAll(cleaner, { topic: `${base}/q0`, qos: 0, message: '', count: 1, interval: 0, retain: true }).catch(() => undefined);
      for (const q of [1, 2]) cleaner.client.publish(`${base}/q${q}`, '', { qos: 0, retain: true });
      await close(cleaner, p);
    }
  }
  const got = (q: QoS) => came.find((r) => r.packet.topic === `${base}/q${q}`);
  const figures = Object.fromEntries(([0, 1, 2] as const).map((q) => [`qos${q}`, { accepted: problems[q] === undefined, delivered: got(q) ? { qos: got(q)!.packet.qos, retain: Boolean(got(q)!.packet.retain) } : null }]));
  const parts = ([0, 1, 2] as const).map((q) => {
    if (problems[q] !== undefined) return `QoS ${q} not accepted`;
    const r = got(q);
    return r ? `QoS ${q} → QoS ${r.packet.qos} RETAIN=${r.packet.retain ? 1 : 0}` : `QoS ${q} → nothing`;
  });
  const fact = `retained, then a new subscription: ${parts.join(', ')}`;
  const retainAvailable = (p.v5Connack?.packet as { properties?: { retainAvailable?: boolean } } | undefined)?.properties?.retainAvailable;
  const evidence = [came];
  if (accepted.some((q) => !got(q))) {
    if (retainAvailable === false) return answer('retained', 'differs', `${fact}: the MQTT 5 CONNACK says Retain Available = 0`, figures, evidence);
    return answer('retained', 'violates', `${fact}: a new subscription must get the retained message`, figures, evidence, 'MQTT-3.3.1-6');
  }
  if (came.some((r) => !r.packet.retain)) return answer('retained', 'violates', `${fact}: a message sent for a new subscription must carry RETAIN=1`, figures, evidence, 'MQTT-3.3.1-8');
  // Across a bridge it crossed at no more than the bridge's QoS: MIN(qos, bridge, 2).
  const bridge = p.across?.bridgeQos;
  const kept = (q: QoS) => (bridge === undefined ? q : effectiveQos(q, bridge));
  if (accepted.some((q) => got(q)!.packet.qos !== kept(q))) return answer('retained', 'violates', `${fact}: a retained message keeps its QoS (MIN with the subscription's${bridge === undefined ? '' : ` and the bridge's ${bridge}`})`, figures, evidence, 'MQTT-3.3.1-5');
  if (accepted.length < 3) return answer('retained', 'differs', fact, figures, evidence);
  const lowered = accepted.some((q) => kept(q) !== q) ? `: each at MIN(its QoS, bridge ${bridge})` : '';
  return answer('retained', 'conforms', fact + lowered, figures, evidence, 'MQTT-3.3.1-8');
}

/**
 * MQTT 5: a session with an expiry interval outlives its connection for that
 * long and no longer. Kept at 60 s, then set to 1 s: present, then gone after the wait.
 */
export async function expiry(p: Probe): Promise<Found> {
  if (!p.v5) return answer('expiry', 'not-applicable', 'the broker does not accept MQTT 5', {}, []);
  const role = 'expiry-sub';
  const connacks: ProbeRecord[] = [];
  const connackOf = () => p.rec.records.filter((r) => r.clientId === `${p.run}-${role}` && r.packet.cmd === 'connack').at(-1);
  const visit = async (sessionExpiry: number, subscribeToo: boolean) => {
    const conn = await client(p, role, { clean: false, protocol: 5, sessionExpiry });
    try {
      if (subscribeToo) await subscribe(conn, topic(p, 'expiry'), 1, p.limits.answerMs, null);
      const c = connackOf();
      if (c) connacks.push(c);
      return conn.connack;
    } finally {
      await close(conn, p);
    }
  };
  try {
    await visit(60, true);
    const kept = await visit(1, false);
    // Time passing is what is measured here: no event to wait for.
    await new Promise((resolve) => setTimeout(resolve, p.sizes.expiryWaitMs));
    const later = await visit(0, false);
    const granted = (kept.properties as { sessionExpiryInterval?: number } | undefined)?.sessionExpiryInterval;
    const fact = `reconnected within 60 s: session present=${kept.sessionPresent ? 1 : 0}; ${p.sizes.expiryWaitMs / 1000} s after a 1 s expiry: session present=${later.sessionPresent ? 1 : 0}${granted !== undefined ? `; the broker set the expiry to ${granted} s` : ''}`;
    const figures = { presentWithin: kept.sessionPresent, presentAfter: later.sessionPresent, brokerExpiry: granted ?? null };
    if (!kept.sessionPresent) return answer('expiry', 'violates', `${fact}: a session with an expiry interval must outlive its connection`, figures, connacks, 'MQTT-3.1.2-23');
    if (later.sessionPresent) return answer('expiry', 'differs', `${fact}: the session outlived its expiry interval`, figures, connacks);
    return answer('expiry', 'conforms', fact, figures, connacks, 'MQTT-3.1.2-23');
  } finally {
    await forget(p, role);
  }
}
