// The bench's trace: every packet both clients send or receive, as the same
// JSON lines the lab and the two tools write with --json (src/mqtt/trace.ts).
//
// Events are kept during the run and turned into lines when it closes:
// formatting a line per packet live cost about a third of QoS 1 throughput
// (measured, see docs/bench.md), keeping the event costs a push.
import { performance } from 'node:perf_hooks';
import { CliError, UsageError } from '../cli/errors';
import { openOutputFile } from '../cli/output-file';
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

/** Opens `path` at once (a bad path is one line before anything runs); a write that fails later names --trace too. */
export function openTrace(path: string): Trace {
  const file = openOutputFile('trace', path);
  const start = performance.now();
  let events: { client: Link; event: PacketEvent }[] = [];
  const write = (text: string) => {
    try {
      file.write(text);
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new UsageError(`--trace '${path}': cannot write this file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  const flush = async () => {
    let pending = '';
    for (const { client, event } of events) {
      pending += traceLine(traceRecord(event, { leg: client, seenBy: client, protocol: 4, start }));
      if (pending.length >= CHUNK) {
        write(pending);
        pending = '';
      }
    }
    events = [];
    if (pending) write(pending);
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
        file.close();
      }
    },
  };
}
