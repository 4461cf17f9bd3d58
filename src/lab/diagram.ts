// A pair's timeline as a terminal sequence diagram: three lanes, Publisher |
// Broker | Subscriber, one arrow per packet, in the timeline's one order, with
// the time each was seen (ms since the pair's first packet: by the broker tap
// when there is one, else by the client that logged it). A fault proxy's
// cut is a marked line; the packet it swallowed, an arrow that never arrives.
// Across two brokers: four lanes, Node A and Node B in the middle, the hop's
// packets drawn between them with `=`.
import { packetDetails, paint, type Style } from '../mqtt/format';
import { arrowLabel } from './label';
import { interleave, type Cut, type HopArrow, type Note, type Timeline } from './timeline';
import type { Leg } from '../mqtt/packet-event';
import type { Lane } from './lanes';
import { violationsOf } from './violations';

const GAP = 34;
const COLUMN: Record<Lane, number> = { publisher: 0, broker: GAP, subscriber: 2 * GAP };
const TIME_WIDTH = 8;

const LANE_NAMES: Record<Lane, string> = { publisher: 'Publisher', broker: 'Broker', subscriber: 'Subscriber' };

/**
 * Where each rail stands. One broker: three rails. Two (the timeline's
 * `across`): Publisher | Node A | Node B | Subscriber, the publisher's leg
 * ending at A, the subscriber's at B, the hop between them.
 */
interface Columns {
  /** The rails, left to right, with their headings. */
  rails: { at: number; name: string }[];
  publisher: number;
  /** The broker end of the publisher's leg, and of the subscriber's. */
  publisherNode: number;
  subscriberNode: number;
  subscriber: number;
}

const ACROSS_GAP = 28;

function columnsOf(timeline: Timeline): Columns {
  const across = timeline.across;
  if (!across) {
    const broker = timeline.broker === 'derived' ? 'Broker (derived)' : LANE_NAMES.broker;
    return {
      rails: [{ at: 0, name: LANE_NAMES.publisher }, { at: GAP, name: broker }, { at: 2 * GAP, name: LANE_NAMES.subscriber }],
      publisher: 0,
      publisherNode: GAP,
      subscriberNode: GAP,
      subscriber: 2 * GAP,
    };
  }
  const derived = timeline.broker === 'derived' ? ' (derived)' : '';
  const { publisher: a, subscriber: b } = across.nodes;
  return {
    rails: [
      { at: 0, name: LANE_NAMES.publisher },
      { at: ACROSS_GAP, name: `Node ${a}${derived}` },
      { at: 2 * ACROSS_GAP, name: `Node ${b}${derived}` },
      { at: 3 * ACROSS_GAP, name: LANE_NAMES.subscriber },
    ],
    publisher: 0,
    publisherNode: ACROSS_GAP,
    subscriberNode: 2 * ACROSS_GAP,
    subscriber: 3 * ACROSS_GAP,
  };
}

/** The rail of one end of an arrow on `leg`. */
function columnOf(columns: Columns, lane: Lane, leg: Leg): number {
  if (lane === 'broker') return leg === 'publisher' ? columns.publisherNode : columns.subscriberNode;
  return lane === 'publisher' ? columns.publisher : columns.subscriber;
}

const SINGLE: Columns = columnsOf({ arrows: [], notes: [], broker: 'tap', messages: [], cuts: [] });

/** How the lab sees the broker's side: `socket tap` (aedes), `tap proxy` (mosquitto), or none (an external broker). */
export type TapKind = 'socket tap' | 'tap proxy' | null;

/** What the broker lane shows, and which clock orders the arrows of the two legs. */
export function brokerLaneLabel(timeline: Timeline, brokerName: string, tap: TapKind): string {
  if (timeline.across) return nodeLanesLabel(timeline, brokerName, tap);
  return timeline.broker === 'tap'
    ? `broker lane: ${brokerName}'s own packets (${tap ?? 'tap'}); arrows of both legs in the order the tap saw them, ms on its clock`
    : `broker lane: derived from the two client legs (no tap on ${brokerName}); arrows of different legs ordered by when each client logged them, not by what the broker saw`;
}

function nodeLanesLabel(timeline: Timeline, brokerName: string, tap: TapKind): string {
  const { nodes, hopSeenBy } = timeline.across!;
  const legs = `the publisher's leg on node ${nodes.publisher}, the subscriber's on node ${nodes.subscriber}`;
  const lanes =
    timeline.broker === 'tap'
      ? `node lanes: each node's own packets (${tap ?? 'tap'} on each); arrows of all legs in the order the taps saw them, ms on their one clock`
      : `node lanes: derived from the two client legs (no tap on ${brokerName}); arrows of different legs ordered by when each client logged them`;
  const hop =
    hopSeenBy === 'bridge tap'
      ? 'the hop (=== arrows): the bridge\'s own MQTT packets, read by the relay it connects through'
      : hopSeenBy === 'redis'
        ? 'the hop (=== arrows): the messages the nodes put on redis, as a redis subscriber of ours received them'
        : `the hop between the nodes is not observed: derived, it lies between node ${nodes.publisher} receiving the PUBLISH and node ${nodes.subscriber} sending it on`;
  return `${legs}; ${lanes};\n${hop}`;
}

export function formatDiagram(timeline: Timeline, style: Style): string[] {
  const start = timeline.arrows[0]?.at ?? 0;
  const columns = columnsOf(timeline);
  const lines = [paint(`${'ms'.padStart(TIME_WIDTH - 1)} ${heading(columns)}`, 'dim', style.color)];
  const others: ({ at: number; note: Note } | { at: number; cut: Cut } | { at: number; hop: HopArrow })[] = [
    ...timeline.notes.map((note) => ({ at: note.at, note })),
    ...timeline.cuts.map((cut) => ({ at: cut.at, cut })),
    ...(timeline.across?.hops ?? []).map((hop) => ({ at: hop.at, hop })),
  ];
  const broken = new Map(violationsOf(timeline.arrows).map((v) => [v.arrow, v.rule]));
  for (const step of interleave(timeline.arrows, others)) {
    const at = 'arrow' in step ? step.arrow.at : step.other.at;
    const time = (at - start).toFixed(2).padStart(TIME_WIDTH - 1);
    if ('arrow' in step) {
      const { arrow } = step;
      const line = drawArrow(columns, columnOf(columns, arrow.from, arrow.leg), columnOf(columns, arrow.to, arrow.leg), arrowLabel(arrow.packet), arrow.lost);
      const drawn = paint(line, arrow.from === 'broker' ? 'receive' : 'send', style.color);
      const lost = arrow.lost ? `  ${LOST_TEXT}` : '';
      const rule = broken.get(arrow);
      const breaks = rule ? `  ! breaks [${rule}]` : '';
      lines.push(`${time} ${drawn}${lost}${breaks}${style.verbose ? `  ${packetDetails(arrow.packet)}` : ''}`.trimEnd());
    } else if ('cut' in step.other) {
      lines.push(`${time} ${paint(cutLine(columns, step.other.cut), 'note', style.color)}`);
    } else if ('hop' in step.other) {
      lines.push(`${time} ${paint(hopLine(columns, step.other.hop, timeline.across?.hopSeenBy ?? null), 'dim', style.color)}`);
    } else {
      lines.push(`${time} ${noteLine(columns, step.other.note)}`);
    }
  }
  return lines;
}

const LOST_TEXT = 'lost in the cut: never arrived';

/** The words after a cut line: `connection cut by the proxy (before PUBACK)`. */
export function cutText(cut: Cut): string {
  return `connection cut by the proxy (${cut.reason.replace(/^before (\w+)/, (_, cmd: string) => `before ${cmd.toUpperCase()}`)})`;
}

/** `|~~~~~ CUT ~~~~~|   |  connection cut by the proxy (before PUBACK)` across the cut leg. */
function cutLine(columns: Columns, cut: Cut): string {
  const [from, to] = cut.leg === 'publisher' ? [columns.publisher, columns.publisherNode] : [columns.subscriberNode, columns.subscriber];
  const chars = rails(columns);
  const inner = to - from - 1;
  const text = ' CUT ';
  const before = Math.floor((inner - text.length) / 2);
  chars.splice(from + 1, inner, ...('~'.repeat(before) + text + '~'.repeat(inner - before - text.length)));
  return `${chars.join('')}  ${cutText(cut)}`;
}

/** A packet between the two nodes, dashed with `=` so it reads as the hop, not a client's leg; redis's is a broadcast. */
function hopLine(columns: Columns, hop: HopArrow, seenBy: 'bridge tap' | 'redis' | null): string {
  const [from, to] = hop.toward === 'subscriber-node' ? [columns.publisherNode, columns.subscriberNode] : [columns.subscriberNode, columns.publisherNode];
  // aedes's message on redis is no MQTT packet: its messageId is null, not an id on any wire.
  const packet = typeof hop.packet.messageId === 'number' ? hop.packet : { ...hop.packet, messageId: undefined };
  const label = arrowLabel(packet);
  const where = seenBy === 'redis' ? `  (redis pub/sub${hop.broadcast ? ', to every node' : ''})` : '  (the bridge)';
  return `${drawArrow(columns, from, to, label, false, '=')}${where}`;
}

/**
 * The three lane rails with one arrow between two of them: `|---- PUBLISH q1 id=1 --->|`;
 * a lost one stops short of its receiver: `|---- PUBACK id=1 ---X |`.
 */
export function arrowLine(from: Lane, to: Lane, label: string, lost = false): string {
  return drawArrow(SINGLE, COLUMN[from], COLUMN[to], label, lost);
}

function drawArrow(columns: Columns, from: number, to: number, label: string, lost = false, dash = '-'): string {
  const chars = rails(columns);
  const left = Math.min(from, to);
  const right = Math.max(from, to);
  const inner = right - left - 1;
  const text = ` ${label.length > inner - 6 ? label.slice(0, inner - 6) : label} `;
  const before = Math.floor((inner - text.length) / 2);
  const body = dash.repeat(before) + text + dash.repeat(inner - before - text.length);
  const rightward = to > from;
  const head = lost ? (rightward ? `${body.slice(0, -2)}X ` : ` X${body.slice(2)}`) : rightward ? `${body.slice(0, -1)}>` : `<${body.slice(1)}`;
  chars.splice(left + 1, inner, ...head);
  return chars.join('');
}

function noteLine(columns: Columns, note: Note): string {
  const chars = rails(columns);
  chars[columnOf(columns, note.lane, note.lane === 'publisher' ? 'publisher' : 'subscriber')] = '*';
  return `${chars.join('')} ${note.text}`.trimEnd();
}

function rails(columns: Columns): string[] {
  const chars = Array.from({ length: columns.subscriber + 1 }, () => ' ');
  for (const rail of columns.rails) chars[rail.at] = '|';
  return chars;
}

function heading(columns: Columns): string {
  const chars = Array.from({ length: columns.subscriber + 12 }, () => ' ');
  for (const rail of columns.rails) chars.splice(rail.at, rail.name.length, ...rail.name);
  return chars.join('').trimEnd();
}
