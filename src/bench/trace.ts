// The bench's trace: every packet either client sends or receives, as the
// lesson prints it with --verbose, one line each, written to a file.
//
// Events are kept during the run and formatted when it closes: formatting a
// line per packet live cost about a third of QoS 1 throughput (measured, see
// docs/bench.md), keeping the event costs a push.
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { PacketListener } from '../mqtt/connection';
import { formatPacket } from '../mqtt/format';
import type { PacketEvent } from '../mqtt/packet-event';

export interface Trace {
  listener: PacketListener;
  /** Formats and writes what was recorded since the last flush; call outside the measured part. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

export function openTrace(path: string): Trace {
  const file = createWriteStream(path);
  const style = { verbose: true, color: false };
  let events: PacketEvent[] = [];
  const flush = async () => {
    let pending = '';
    for (const event of events) {
      pending += `${event.at.toFixed(3)} ${formatPacket(event, style)}\n`;
      if (pending.length >= CHUNK) {
        if (!file.write(pending)) await new Promise<void>((resolve) => file.once('drain', () => resolve()));
        pending = '';
      }
    }
    events = [];
    if (pending) file.write(pending);
  };
  return {
    listener: (event) => {
      events.push(event);
    },
    flush,
    close: async () => {
      await flush();
      file.end();
      await finished(file);
    },
  };
}
