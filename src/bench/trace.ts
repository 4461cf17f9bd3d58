// The bench's trace: every packet both clients send or receive, as the same
// JSON lines the lab and the two tools write with --json (src/mqtt/trace.ts).
//
// Events are kept during the run and turned into lines when it closes:
// formatting a line per packet live cost about a third of QoS 1 throughput
// (measured, see docs/bench.md), keeping the event costs a push.
import { createWriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { finished } from 'node:stream/promises';
import type { PacketListener } from '../mqtt/connection';
import type { Link, PacketEvent } from '../mqtt/packet-event';
import { traceLine, traceRecord } from '../mqtt/trace';

export interface Trace {
  listener(client: Link): PacketListener;
  /** Writes what was recorded since the last flush; call outside the measured part. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

export function openTrace(path: string): Trace {
  const file = createWriteStream(path);
  const start = performance.now();
  let events: { client: Link; event: PacketEvent }[] = [];
  const flush = async () => {
    let pending = '';
    for (const { client, event } of events) {
      pending += traceLine(traceRecord(event, { leg: client, seenBy: client, protocol: 4, start }));
      if (pending.length >= CHUNK) {
        if (!file.write(pending)) await new Promise<void>((resolve) => file.once('drain', () => resolve()));
        pending = '';
      }
    }
    events = [];
    if (pending) file.write(pending);
  };
  return {
    listener: (client) => (event) => {
      events.push({ client, event });
    },
    flush,
    close: async () => {
      await flush();
      file.end();
      await finished(file);
    },
  };
}
