// The probe's one view of the wire: a relay (src/wire/relay.ts) in front of the
// broker that every client of the probe connects through, whatever the broker
// is. Each packet that crosses it becomes a numbered record; the verdicts are
// read from these records, and --trace writes them, record n on line n.
import { performance } from 'node:perf_hooks';
import type { Address } from '../broker/listen';
import type { Packet } from '../mqtt/packet-event';
import { traceRecord, type TraceRecord, type TraceWriter } from '../mqtt/trace';
import { startRelay, type Relay } from '../wire/relay';

export interface ProbeRecord {
  /** 1-based: the line of the trace file. */
  n: number;
  /** The question being asked when it crossed. */
  question: string;
  /** Which connection through the relay, counting from 1. */
  connection: number;
  clientId: string;
  /** The broker's view: 'receive' is client to broker, 'send' broker to client. */
  direction: 'send' | 'receive';
  packet: Packet;
  at: number;
}

export interface Recorder {
  /** Where the probe's clients connect. */
  url: string;
  readonly records: readonly ProbeRecord[];
  /** Records from now on belong to this question. */
  ask(question: string): void;
  /** Resolves with the first record from now on that `match` accepts; the caller bounds the wait. */
  next(match: (r: ProbeRecord) => boolean): Promise<ProbeRecord>;
  /** Calls `listener` for every record from now on, until the returned function is called. */
  watch(listener: (r: ProbeRecord) => void): () => void;
  close(): Promise<void>;
}

export async function startRecorder(upstream: Address, trace?: TraceWriter): Promise<Recorder> {
  const records: ProbeRecord[] = [];
  const start = performance.now();
  let question = '';
  const listeners = new Set<(r: ProbeRecord) => void>();
  const relay: Relay = await startRelay({
    upstream,
    onPacket: (event) => {
      const record: ProbeRecord = { n: records.length + 1, question, connection: event.connection, clientId: event.clientId, direction: event.direction, packet: event.packet, at: event.at };
      records.push(record);
      if (trace) {
        const leg = /-pub/.test(event.clientId) ? 'publisher' : 'subscriber';
        // A CONNECT says which MQTT its connection speaks (the probe mixes 3.1, 3.1.1 and 5).
        const version = event.packet.cmd === 'connect' ? { protocolVersion: event.packet.protocolVersion } : {};
        const line: TraceRecord & { record: number; question: string; connection: number; protocolVersion?: number } = {
          record: record.n,
          question,
          connection: event.connection,
          ...traceRecord(event, { leg, seenBy: 'proxy', protocol: 4, start }),
          ...version,
          clientId: event.clientId,
        };
        trace.write(line);
      }
      for (const listener of [...listeners]) listener(record);
    },
  });
  return {
    url: relay.url,
    records,
    ask: (q) => (question = q),
    next: (match) =>
      new Promise((found) => {
        const listener = (r: ProbeRecord) => {
          if (!match(r)) return;
          listeners.delete(listener);
          found(r);
        };
        listeners.add(listener);
      }),
    watch: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: async () => {
      listeners.clear();
      await relay.close();
    },
  };
}
