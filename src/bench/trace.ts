// The bench's trace: every packet both clients send or receive, as the same
// JSON lines the lab and the two tools write with --trace (src/mqtt/trace.ts).
//
// Events are kept during the run and turned into lines when it closes:
// formatting a line per packet live cost about a third of QoS 1 throughput
// (measured, see docs/bench.md), keeping the event costs a push.
import { performance } from 'node:perf_hooks';
import type { PacketListener, ProtocolVersion } from '../mqtt/connection';
import type { Leg, PacketEvent } from '../mqtt/packet-event';
import { traceRecord, traceWriter, type TraceSink } from '../mqtt/trace';

export interface Trace {
  listener(client: Leg): PacketListener;
  /** Writes what was recorded since the last flush; call outside the measured part. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `sink` is the --trace file, opened (and its path checked) before anything runs; `protocol` is
 * both clients' (a sent packet's size is encoded in it: MQTT 5 adds a properties length).
 */
export function openTrace(sink: TraceSink, protocol: ProtocolVersion = 4): Trace {
  const writer = traceWriter(sink);
  const start = performance.now();
  let events: { client: Leg; event: PacketEvent }[] = [];
  const flush = async () => {
    const kept = events;
    events = [];
    writer.writeAll(kept.map(({ client, event }) => traceRecord(event, { leg: client, seenBy: client, protocol, start })));
  };
  return {
    listener: (client) => (event) => {
      events.push({ client, event });
    },
    flush,
    close: async () => {
      try {
        await flush();
      } finally {
        writer.close();
      }
    },
  };
}
