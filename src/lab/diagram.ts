// A pair's timeline as a terminal sequence diagram: three lanes, Publisher |
// Broker | Subscriber, one arrow per packet, in the timeline's one order, with
// the time each was seen (ms since the pair's first packet: by the broker tap
// when there is one, else by the client that logged it). A fault proxy's
// cut is a marked line; the packet it swallowed, an arrow that never arrives.
import { packetDetails, paint, type Style } from '../mqtt/format';
import { arrowLabel } from './label';
import { interleave, type Cut, type Note, type Timeline } from './timeline';
import type { Lane } from './lanes';
import { violationsOf } from './violations';

const GAP = 34;
const COLUMN: Record<Lane, number> = { publisher: 0, broker: GAP, subscriber: 2 * GAP };
const TIME_WIDTH = 8;

const LANE_NAMES: Record<Lane, string> = { publisher: 'Publisher', broker: 'Broker', subscriber: 'Subscriber' };

/** How the lab sees the broker's side: `socket tap` (aedes), `tap proxy` (mosquitto), or none (an external broker). */
export type TapKind = 'socket tap' | 'tap proxy' | null;

/** What the broker lane shows, and which clock orders the arrows of the two legs. */
export function brokerLaneLabel(timeline: Timeline, brokerName: string, tap: TapKind): string {
  return timeline.broker === 'tap'
    ? `broker lane: ${brokerName}'s own packets (${tap ?? 'tap'}); arrows of both legs in the order the tap saw them, ms on its clock`
    : `broker lane: derived from the two client legs (no tap on ${brokerName}); arrows of different legs ordered by when each client logged them, not by what the broker saw`;
}

export function formatDiagram(timeline: Timeline, style: Style): string[] {
  const start = timeline.arrows[0]?.at ?? 0;
  const heading = lanes((lane) => (lane === 'broker' && timeline.broker === 'derived' ? 'Broker (derived)' : LANE_NAMES[lane]));
  const lines = [paint(`${'ms'.padStart(TIME_WIDTH - 1)} ${heading}`, 'dim', style.color)];
  const others: ({ at: number; note: Note } | { at: number; cut: Cut })[] = [
    ...timeline.notes.map((note) => ({ at: note.at, note })),
    ...timeline.cuts.map((cut) => ({ at: cut.at, cut })),
  ];
  const broken = new Map(violationsOf(timeline.arrows).map((v) => [v.arrow, v.rule]));
  for (const step of interleave(timeline.arrows, others)) {
    const at = 'arrow' in step ? step.arrow.at : step.other.at;
    const time = (at - start).toFixed(2).padStart(TIME_WIDTH - 1);
    if ('arrow' in step) {
      const { arrow } = step;
      const drawn = paint(arrowLine(arrow.from, arrow.to, arrowLabel(arrow.packet), arrow.lost), arrow.from === 'broker' ? 'receive' : 'send', style.color);
      const lost = arrow.lost ? `  ${LOST_TEXT}` : '';
      const rule = broken.get(arrow);
      const breaks = rule ? `  ! breaks [${rule}]` : '';
      lines.push(`${time} ${drawn}${lost}${breaks}${style.verbose ? `  ${packetDetails(arrow.packet)}` : ''}`.trimEnd());
    } else if ('cut' in step.other) {
      lines.push(`${time} ${paint(cutLine(step.other.cut), 'note', style.color)}`);
    } else {
      lines.push(`${time} ${noteLine(step.other.note)}`);
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
function cutLine(cut: Cut): string {
  const [from, to]: Lane[] = cut.leg === 'publisher' ? ['publisher', 'broker'] : ['broker', 'subscriber'];
  const chars = rails();
  const inner = COLUMN[to] - COLUMN[from] - 1;
  const text = ' CUT ';
  const before = Math.floor((inner - text.length) / 2);
  chars.splice(COLUMN[from] + 1, inner, ...('~'.repeat(before) + text + '~'.repeat(inner - before - text.length)));
  return `${chars.join('')}  ${cutText(cut)}`;
}

/**
 * The three lane rails with one arrow between two of them: `|---- PUBLISH q1 id=1 --->|`;
 * a lost one stops short of its receiver: `|---- PUBACK id=1 ---X |`.
 */
export function arrowLine(from: Lane, to: Lane, label: string, lost = false): string {
  const chars = rails();
  const left = Math.min(COLUMN[from], COLUMN[to]);
  const right = Math.max(COLUMN[from], COLUMN[to]);
  const inner = right - left - 1;
  const text = ` ${label.length > inner - 6 ? label.slice(0, inner - 6) : label} `;
  const before = Math.floor((inner - text.length) / 2);
  const body = '-'.repeat(before) + text + '-'.repeat(inner - before - text.length);
  const rightward = COLUMN[to] > COLUMN[from];
  const head = lost ? (rightward ? `${body.slice(0, -2)}X ` : ` X${body.slice(2)}`) : rightward ? `${body.slice(0, -1)}>` : `<${body.slice(1)}`;
  chars.splice(left + 1, inner, ...head);
  return chars.join('');
}

function noteLine(note: Note): string {
  const chars = rails();
  chars[COLUMN[note.lane]] = '*';
  return `${chars.join('')} ${note.text}`.trimEnd();
}

function rails(): string[] {
  const chars = Array.from({ length: COLUMN.subscriber + 1 }, () => ' ');
  for (const column of Object.values(COLUMN)) chars[column] = '|';
  return chars;
}

function lanes(name: (lane: Lane) => string): string {
  const chars = Array.from({ length: COLUMN.subscriber + 12 }, () => ' ');
  for (const lane of Object.keys(COLUMN) as Lane[]) chars.splice(COLUMN[lane], name(lane).length, ...name(lane));
  return chars.join('').trimEnd();
}
