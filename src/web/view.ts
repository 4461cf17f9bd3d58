// What the page draws for one pair, made here from the lab's own timeline,
// labels, trace records and matrix cell: the browser only lays it out and
// never decides anything about QoS itself.
import type { ProtocolVersion } from '../mqtt/connection';
import { packetDetails } from '../mqtt/format';
import type { Leg } from '../mqtt/packet-event';
import type { TraceRecord } from '../mqtt/trace';
import { brokerLaneLabel, cutText } from '../lab/diagram';
import { arrowLabel } from '../lab/label';
import type { Lane } from '../lab/lanes';
import { cellOf, cellText, type Cell } from '../lab/matrix';
import type { LabPair, LabSession } from '../lab/pairs';
import { brokerShortName, idLine, pairTitle, pairWarnings, tapKind } from '../lab/run-lab';
import { interleave, type Cut, type Note } from '../lab/timeline';
import { arrowRecords } from '../lab/trace';
import { violationsOf } from '../lab/violations';

export interface ArrowStep {
  kind: 'arrow';
  from: Lane;
  to: Lane;
  leg: Leg;
  /** The terminal diagram's label, e.g. `PUBLISH q1 id=1 dup`. */
  label: string;
  type: string;
  messageId?: number;
  dup: boolean;
  /** The fault proxy swallowed it. */
  lost: boolean;
  /** The MQTT rule this packet broke, e.g. `MQTT-4.3.3-1`. */
  rule?: string;
  /** The -v details. */
  details: string;
  /** Which connection of its leg (a reconnect starts the next one). */
  connection: number;
  /** ms since the pair's first arrow, on the clock that ordered it. */
  ms: number;
  /** The trace records this arrow was joined from: the sender's, then the receiver's. */
  records: TraceRecord[];
}

export interface CutStep {
  kind: 'cut';
  leg: Leg;
  text: string;
  ms: number;
}

export interface NoteStep {
  kind: 'note';
  lane: Lane;
  text: string;
  ms: number;
}

export type Step = ArrowStep | CutStep | NoteStep;

export interface PairView {
  title: string;
  publishQos: number;
  subscribeQos: number;
  /** What the broker lane shows and which clock ordered the arrows. */
  brokerLane: string;
  /** The message-id line(s): the publisher's id and the broker's toward the subscriber. */
  ids: string;
  /** The terminal's `!` lines under the title: rules the broker broke, an answer that never came. */
  warnings: string[];
  steps: Step[];
  cell: Cell & { text: string };
}

export function pairView(pair: LabPair, session: LabSession, protocol: ProtocolVersion): PairView {
  const { timeline } = pair;
  const first = timeline.arrows[0]?.at ?? 0;
  const ms = (at: number) => Math.round((at - first) * 100) / 100;
  const broken = new Map(violationsOf(timeline.arrows).map((v) => [v.arrow, v.rule]));
  const others: ({ at: number; note: Note } | { at: number; cut: Cut })[] = [
    ...timeline.notes.map((note) => ({ at: note.at, note })),
    ...timeline.cuts.map((cut) => ({ at: cut.at, cut })),
  ];
  const steps = interleave(timeline.arrows, others).map((step): Step => {
    if ('arrow' in step) {
      const { arrow } = step;
      const { packet } = arrow;
      const rule = broken.get(arrow);
      const id = packet.cmd === 'publish' && packet.qos === 0 ? undefined : packet.messageId;
      return {
        kind: 'arrow',
        from: arrow.from,
        to: arrow.to,
        leg: arrow.leg,
        label: arrowLabel(packet),
        type: packet.cmd,
        ...(id === undefined ? {} : { messageId: id }),
        dup: packet.cmd === 'publish' && Boolean(packet.dup),
        lost: Boolean(arrow.lost),
        ...(rule ? { rule } : {}),
        details: packetDetails(packet),
        connection: arrow.connection,
        ms: ms(arrow.at),
        records: arrowRecords(arrow, pair, session.start, protocol),
      };
    }
    const { other } = step;
    if ('cut' in other) return { kind: 'cut', leg: other.cut.leg, text: cutText(other.cut), ms: ms(other.at) };
    return { kind: 'note', lane: other.note.lane, text: other.note.text, ms: ms(other.at) };
  });
  const cell = cellOf(pair);
  return {
    title: pairTitle(pair),
    publishQos: pair.publishQos,
    subscribeQos: pair.subscribeQos,
    brokerLane: brokerLaneLabel(timeline, brokerShortName(session), tapKind(session)),
    ids: timeline.messages.length ? idLine(timeline) : '',
    warnings: pairWarnings(pair),
    steps,
    cell: { ...cell, text: cellText(cell) },
  };
}
