// The 3×3 picture: for each (publish QoS, subscription QoS) pair, the QoS the
// subscriber really got, read from the PUBLISH on its leg, beside what
// MIN(pub, sub) predicts; the packets on each leg; the publisher's ack wait;
// and where delivery happened (which packet the broker had when it forwarded,
// which packet the subscriber's application got the message at).
import { effectiveQos, flowPackets, QOS_LEVELS, type QoS } from '../mqtt/qos';
import { reasonText } from '../mqtt/reason-codes';
import type { Arrow, Timeline } from './timeline';
import { violationsOf, violationText } from './violations';

export interface PairRun {
  publishQos: QoS;
  subscribeQos: QoS;
  /** The SUBACK's code: the granted QoS, or 0x80 and above for a refusal; null when no SUBACK came. */
  granted: number | null;
  timeline: Timeline;
  /** When MQTT.js handed the message to the subscriber's application (performance.now()), or null. */
  appAt: number | null;
  /** Why the exchange stopped short, or null. */
  problem: string | null;
}

export interface Cell {
  publishQos: QoS;
  subscribeQos: QoS;
  granted: number | null;
  /** The QoS of the PUBLISH the subscriber received; null when none arrived. */
  delivered: QoS | null;
  /** MIN(publish QoS, subscription QoS), with the bridge's QoS as a third term across a bridge: what the rules predict. */
  expected: QoS;
  /** Across a bridge: its QoS, the third term of `expected`. */
  bridgeQos?: QoS;
  /** Across two nodes, where the hop was seen: the QoS the message had on it (the bridge's PUBLISH, or the one aedes put on redis); null when not seen there. */
  hopQos?: QoS | null;
  mismatch: boolean;
  /** PUBLISH, PUBACK, PUBREC, PUBREL and PUBCOMP counted on each leg. */
  packets: { publisher: number; subscriber: number };
  /** Publisher's PUBLISH sent → its PUBACK/PUBCOMP received, in ms (or → the broker's rule-breaking answer, see ackBroke); null at QoS 0 or when no ack came. */
  ackMs: number | null;
  /** The answer ackMs measures broke an MQTT rule (e.g. PUBACK to a QoS 2 PUBLISH). */
  ackBroke: boolean;
  /** The MQTT rules the broker broke in this pair, as lines: what it did and the rule. */
  violations: string[];
  /** The last packet the broker had received from the publisher when it sent the PUBLISH on. */
  forwardedAfter: string | null;
  /** The last packet on the subscriber's leg when MQTT.js handed the message to the application. */
  appGotItAt: string | null;
  problem: string | null;
  /** The Maximum QoS the broker announced in its CONNACK to the publisher (MQTT 5), if it did. */
  maximumQos?: number;
  /** What the fault proxy did to the publisher's connection (--fault): its cuts, what it swallowed, what the publisher resent. */
  fault: { cuts: string[]; lost: string[]; resent: string[] };
}

const FLOW = new Set([...flowPackets(1), ...flowPackets(2)]);

export function cellOf(run: PairRun): Cell {
  const { arrows } = run.timeline;
  const forward = arrows.find((a) => a.leg === 'subscriber' && a.from === 'broker' && a.packet.cmd === 'publish');
  // Only a PUBLISH the subscriber itself logged counts as delivered.
  const delivered = forward?.receivedAt !== undefined && forward.packet.cmd === 'publish' ? forward.packet.qos : null;
  const across = run.timeline.across;
  const bridgeQos = across?.bridgeQos;
  const expected = expectedQos(run.publishQos, run.subscribeQos, bridgeQos);
  const hop = across?.hops.find((h) => h.toward === 'subscriber-node' && h.packet.cmd === 'publish');
  const broken = violationsOf(arrows);
  const ack = ackWait(arrows, run.publishQos);
  // A wrong answer did come: its time, marked, rather than '-' as if none had.
  const wrong = broken.find((v) => v.leg === 'publisher' && v.arrow.receivedAt !== undefined);
  const publish = arrows.find((a) => a.leg === 'publisher' && a.from === 'publisher' && a.packet.cmd === 'publish');
  const wrongMs = ack === null && wrong?.arrow.receivedAt !== undefined && publish?.sentAt !== undefined ? wrong.arrow.receivedAt - publish.sentAt : null;
  return {
    publishQos: run.publishQos,
    subscribeQos: run.subscribeQos,
    granted: run.granted,
    delivered,
    expected,
    ...(bridgeQos !== undefined && { bridgeQos }),
    ...(across?.hopSeenBy && { hopQos: hop?.packet.cmd === 'publish' ? hop.packet.qos : null }),
    mismatch: delivered !== expected,
    packets: { publisher: countFlow(arrows, 'publisher'), subscriber: countFlow(arrows, 'subscriber') },
    ackMs: ack ?? wrongMs,
    ackBroke: wrongMs !== null,
    violations: broken.map(violationText),
    forwardedAfter: forward ? lastBefore(arrows.filter((a) => a.leg === 'publisher' && a.to === 'broker'), (a) => a.receivedAt ?? a.at, forward.at) : null,
    appGotItAt: run.appAt === null ? null : lastBefore(arrows.filter((a) => a.leg === 'subscriber'), subscriberTime, run.appAt),
    problem: run.problem,
    ...maximumQos(arrows),
    fault: {
      cuts: run.timeline.cuts.map((c) => c.reason),
      lost: arrows.filter((a) => a.lost).map((a) => a.packet.cmd.toUpperCase()),
      resent: resent(arrows),
    },
  };
}

/** MIN(pub, sub), or MIN(pub, bridge, sub) across a bridge: each hop delivers at no more than its own QoS. */
export function expectedQos(publishQos: QoS, subscribeQos: QoS, bridgeQos?: QoS): QoS {
  const direct = effectiveQos(publishQos, subscribeQos);
  return bridgeQos === undefined ? direct : effectiveQos(direct, bridgeQos);
}

/** `MIN(2, 1)` or, across a bridge, `MIN(2, bridge 1, 1)`. */
export function minText(c: Pick<Cell, 'publishQos' | 'subscribeQos' | 'bridgeQos'>): string {
  return c.bridgeQos === undefined ? `MIN(${c.publishQos}, ${c.subscribeQos})` : `MIN(${c.publishQos}, bridge ${c.bridgeQos}, ${c.subscribeQos})`;
}

/** The publisher's PUBLISH and PUBREL sent again on a later connection: the resends after a cut. */
function resent(arrows: readonly Arrow[]): string[] {
  const sent = arrows.filter((a) => a.leg === 'publisher' && a.from === 'publisher' && (a.packet.cmd === 'publish' || a.packet.cmd === 'pubrel'));
  return sent
    .filter((a) => sent.some((b) => b.connection < a.connection && b.packet.cmd === a.packet.cmd && b.packet.messageId === a.packet.messageId))
    .map((a) => `${a.packet.cmd.toUpperCase()}${a.packet.cmd === 'publish' && a.packet.dup ? ' (DUP=1)' : ''}`);
}

function maximumQos(arrows: readonly Arrow[]): { maximumQos?: number } {
  const connack = arrows.find((a) => a.leg === 'publisher' && a.packet.cmd === 'connack');
  const announced = connack?.packet.cmd === 'connack' ? connack.packet.properties?.maximumQoS : undefined;
  return announced === undefined ? {} : { maximumQos: announced };
}

function countFlow(arrows: readonly Arrow[], leg: Arrow['leg']): number {
  return arrows.filter((a) => a.leg === leg && FLOW.has(a.packet.cmd)).length;
}

function ackWait(arrows: readonly Arrow[], qos: QoS): number | null {
  if (qos === 0) return null;
  const last = flowPackets(qos).at(-1);
  const publish = arrows.find((a) => a.leg === 'publisher' && a.from === 'publisher' && a.packet.cmd === 'publish');
  // The first ack for that id that arrived: one the fault proxy swallowed never did; one for another id ends nothing.
  const ack = arrows.find((a) => a.leg === 'publisher' && a.to === 'publisher' && a.packet.cmd === last && a.packet.messageId === publish?.packet.messageId && a.receivedAt !== undefined);
  if (publish?.sentAt === undefined || ack?.receivedAt === undefined) return null;
  return ack.receivedAt - publish.sentAt;
}

/** When the subscriber itself logged the arrow. */
function subscriberTime(a: Arrow): number | undefined {
  return a.from === 'subscriber' ? a.sentAt : a.receivedAt;
}

function lastBefore(arrows: readonly Arrow[], time: (a: Arrow) => number | undefined, limit: number): string | null {
  let last: Arrow | undefined;
  for (const a of arrows) {
    const t = time(a);
    if (t !== undefined && t <= limit && (!last || t >= (time(last) ?? -Infinity))) last = a;
  }
  return last ? last.packet.cmd.toUpperCase() : null;
}

const WIDTH = 22;
const ROW_HEAD = 8;

export interface MatrixTitle {
  /** e.g. "embedded aedes broker, MQTT 3.1.1". */
  broker: string;
}

/** The matrix and its footnotes as lines of text; rows and columns present only where a pair ran. */
export function formatMatrix(cells: readonly Cell[], title: MatrixTitle): string[] {
  const pubs = QOS_LEVELS.filter((q) => cells.some((c) => c.publishQos === q));
  const subs = QOS_LEVELS.filter((q) => cells.some((c) => c.subscribeQos === q));
  const find = (p: QoS, s: QoS) => cells.find((c) => c.publishQos === p && c.subscribeQos === s);
  const grid = (text: (c: Cell) => string) => {
    const textOf = (c: Cell | undefined) => (c ? text(c) : '');
    return [
      ' '.repeat(ROW_HEAD) + subs.map((s) => `sub ${s}`.padEnd(WIDTH)).join('').trimEnd(),
      ...pubs.map((p) => `pub ${p}`.padEnd(ROW_HEAD) + subs.map((s) => textOf(find(p, s)).padEnd(WIDTH)).join('').trimEnd()),
    ];
  };
  const bridge = cells.find((c) => c.bridgeQos !== undefined)?.bridgeQos;
  const rule = bridge === undefined ? 'MIN(pub, sub)' : `MIN(pub, bridge ${bridge}, sub)`;
  const hopSeen = cells.some((c) => c.hopQos !== undefined);
  const lines = [
    `QoS matrix (${title.broker}): rows publish QoS, columns subscription QoS`,
    `cell: delivered QoS (read from the PUBLISH on the subscriber's leg${cells.some((c) => c.hopQos !== undefined || c.bridgeQos !== undefined) ? ', on node B' : ''}) [${rule} expected], ! where they differ;`,
    '      packets on the publisher\'s leg + the subscriber\'s leg (PUBLISH to PUBCOMP); publisher\'s ack wait',
    ...(cells.some(faulted) ? ['      ~ before the counts: the fault proxy cut the publisher\'s connection (counts include resends)'] : []),
    ...(cells.some((c) => c.ackBroke) ? ['      ! after the ack wait: the broker answered with a packet the MQTT rules forbid there (see the notes below)'] : []),
    '',
    ...grid(cellText),
    '',
    'where delivery happened: the broker forwarded after receiving ... / the subscriber\'s application got it at ...',
    '',
    ...grid((c) => (c.delivered === null ? '-' : `${c.forwardedAfter ?? '?'} / ${c.appGotItAt ?? '?'}`)),
    ...(hopSeen
      ? ['', `the hop from node A to node B: the QoS of the message as it crossed (${cells.some((c) => c.bridgeQos !== undefined) ? "the bridge's PUBLISH" : 'the PUBLISH aedes put on redis'}), - where none crossed`, '', ...grid((c) => (c.hopQos === undefined || c.hopQos === null ? '-' : `q${c.hopQos}`))]
      : []),
  ];
  const notes = [
    ...cells.filter((c) => c.mismatch || c.problem || c.granted !== c.subscribeQos).map(footnote),
    ...cells.flatMap((c) => c.violations.map((v) => `! pub ${c.publishQos} / sub ${c.subscribeQos}: rule broken: ${v}`)),
    ...cells.filter(faulted).map(faultNote),
  ];
  if (notes.length) lines.push('', ...notes);
  return lines;
}

export function cellText(c: Cell): string {
  const got = c.delivered === null ? '-' : String(c.delivered);
  const ack = c.ackMs === null ? '-' : `${c.ackMs.toFixed(1)}ms${c.ackBroke ? '!' : ''}`;
  return `${got} [${c.expected}]${c.mismatch ? '!' : ' '}${faulted(c) ? '~' : ' '}${c.packets.publisher}+${c.packets.subscriber}  ${ack}`;
}

function faulted(c: Cell): boolean {
  return c.fault.cuts.length > 0;
}

function faultNote(c: Cell): string {
  const { cuts, lost, resent } = c.fault;
  const times = cuts.length === 1 ? 'once' : `${cuts.length} times`;
  return `~ pub ${c.publishQos} / sub ${c.subscribeQos}: the proxy cut the publisher's connection ${times} (${cuts.join(', ')}); lost in the cut: ${lost.join(', ') || 'nothing seen'}; resent after the reconnect: ${resent.join(', ') || 'nothing'}`;
}

function footnote(c: Cell): string {
  const where = `pub ${c.publishQos} / sub ${c.subscribeQos}:`;
  const granted = c.granted === null ? 'no SUBACK came' : c.granted >= 0x80 ? `subscription refused: ${reasonText(c.granted)}` : `granted QoS ${c.granted}`;
  const got = c.delivered === null ? 'nothing delivered' : `delivered at QoS ${c.delivered}`;
  // A broken rule has its own line below; the connection's words for it would say it twice.
  const why = (c.problem && !c.violations.length ? `; ${c.problem}` : '') + (c.maximumQos === undefined ? '' : `; its CONNACK announced Maximum QoS ${c.maximumQos}`);
  return `${c.mismatch ? '!' : ' '} ${where} ${got}, ${minText(c)} = ${c.expected} expected; ${granted}${why}`;
}

/** The DISCONNECT a broker sent to cut a client off, as words: `DISCONNECT 0x9b QoS not supported`. */
export function brokerDisconnect(arrows: readonly Arrow[]): string | null {
  const cut = arrows.find((a) => a.from === 'broker' && a.packet.cmd === 'disconnect');
  if (!cut) return null;
  const code = (cut.packet as { reasonCode?: number }).reasonCode ?? 0;
  return `the broker sent the ${cut.leg} DISCONNECT ${reasonText(code)}`;
}
