// The lab's trace: every record of one pair, from both clients, the broker tap
// and the fault proxy (the record format is src/mqtt/trace.ts), in the
// timeline's one order: arrow by arrow, the sender's record before the receiver's.
// Across two nodes, each node tap's record names its node, and the hop's
// packets (the bridge's, or the messages on redis) are records of their own.
import type { Leg } from '../mqtt/packet-event';
import { msSince, traceRecord, type CutRecord, type TraceRecord } from '../mqtt/trace';
import type { ProtocolVersion } from '../mqtt/connection';
import type { LabPair } from './pairs';
import { interleave, type Across, type Arrow, type HopArrow } from './timeline';

type LabRecord = TraceRecord | CutRecord;

/** Every record of one lab pair, in the timeline's order: both clients', the broker tap's, the hop's and the fault proxy's. */
export function pairRecords(pair: LabPair, start: number, protocol: ProtocolVersion): LabRecord[] {
  const name = `pub ${pair.publishQos} / sub ${pair.subscribeQos}`;
  const across = pair.timeline.across;
  const others: { at: number; record: LabRecord }[] = [
    ...(pair.proxy?.dropped ?? []).map((event) => ({ at: event.at, record: { ...traceRecord(event, { leg: 'publisher', seenBy: 'proxy', protocol, start, pair: name }), dropped: true } })),
    ...(pair.proxy?.cuts ?? []).map((cut) => ({ at: cut.at, record: { time: msSince(start, cut.at), pair: name, leg: 'publisher' as const, seenBy: 'proxy' as const, type: 'cut' as const, reason: cut.reason } })),
    ...(across?.hops ?? []).map((hop) => ({ at: hop.at, record: hopRecord(hop, across!, start, protocol, name) })),
  ];
  return interleave(pair.timeline.arrows, others).flatMap((step) => ('arrow' in step ? arrowRecords(step.arrow, pair, start, protocol) : [step.other.record]));
}

/** One arrow's records (the sender's, then the receiver's) as the trace writes them: the web page shows them beside the arrow. */
export function arrowRecords(arrow: Arrow, pair: LabPair, start: number, protocol: ProtocolVersion): TraceRecord[] {
  const name = `pub ${pair.publishQos} / sub ${pair.subscribeQos}`;
  return arrow.records.map((event) => {
    const leg: Leg = event.lane === 'broker' ? arrow.leg : event.lane;
    const node = event.lane === 'broker' && event.node !== undefined ? nodeLabel(event.node) : undefined;
    return traceRecord(event, { leg, seenBy: event.lane, protocol, start, pair: name, node });
  });
}

/** A packet on the hop, as the node it left sent it: seen by the bridge's relay, or by our redis subscriber. */
function hopRecord(hop: HopArrow, across: Across, start: number, protocol: ProtocolVersion, pair: string): TraceRecord {
  const node = hop.toward === 'subscriber-node' ? across.nodes.publisher : across.nodes.subscriber;
  const seenBy = across.hopSeenBy === 'redis' ? 'redis' : 'bridge';
  return traceRecord({ at: hop.at, direction: 'send', packet: hop.packet }, { leg: 'hop', seenBy, protocol, start, pair, node });
}

/** Node index 0 is A (src/broker/nodes.ts). */
function nodeLabel(index: number): string {
  return String.fromCharCode(65 + index);
}
