// The lab's trace: every record of one pair, from both clients, the broker tap
// and the fault proxy (the record format is src/mqtt/trace.ts).
import type { Link } from '../mqtt/packet-event';
import { msSince, traceRecord, type CutRecord, type TraceRecord } from '../mqtt/trace';
import type { ProtocolVersion } from '../mqtt/connection';
import type { LabPair } from './pairs';

/** Every record of one lab pair, in time order: both clients', the broker tap's and the fault proxy's. */
export function pairRecords(pair: LabPair, start: number, protocol: ProtocolVersion): (TraceRecord | CutRecord)[] {
  const name = `pub ${pair.publishQos} / sub ${pair.subscribeQos}`;
  const records: (TraceRecord | CutRecord)[] = pair.events.map((event) => {
    const leg: Link = event.leg === 'broker' ? (event.clientId === pair.clients.publisherId ? 'publisher' : 'subscriber') : event.leg;
    return traceRecord(event, { leg, seenBy: event.leg, protocol, start, pair: name });
  });
  for (const event of pair.proxy?.dropped ?? []) {
    records.push({ ...traceRecord(event, { leg: 'publisher', seenBy: 'proxy', protocol, start, pair: name }), dropped: true });
  }
  for (const cut of pair.proxy?.cuts ?? []) {
    records.push({ time: msSince(start, cut.at), pair: name, leg: 'publisher', seenBy: 'proxy', type: 'cut', reason: cut.reason });
  }
  return records.sort((a, b) => a.time - b.time);
}
