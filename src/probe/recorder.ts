// The probe's one view of the wire: a relay (src/wire/relay.ts) in front of the
// broker that every client of the probe connects through, whatever the broker
// is; across two brokers one relay per node, one numbering of records over
// both. Each packet that crosses becomes a numbered record; the verdicts are
// read from these records, and --trace writes them, record n on line n.
import { performance } from 'node:perf_hooks';
import type { Address } from '../broker/listen';
import type { Packet } from '../mqtt/packet-event';
import { traceRecord, type TraceRecord, type TraceWriter } from '../mqtt/trace';
import { startRelay, type Relay, type RelayPacketEvent } from '../wire/relay';

export interface ProbeRecord {
  /** 1-based: the line of the trace file. */
  n: number;
  /** The question being asked when it crossed. */
  question: string;
  /** Which connection through the relays, counting from 1 across every node. */
  connection: number;
  /** Across two brokers: the node whose relay it crossed (`A` the publisher's, `B` the subscriber's). */
  node?: NodeLabel;
  clientId: string;
  /** The broker's view: 'receive' is client to broker, 'send' broker to client. */
  direction: 'send' | 'receive';
  packet: Packet;
  at: number;
}

export type NodeLabel = 'A' | 'B';

export interface Recorder {
  /** Where the probe's publishers connect (node A across two brokers). */
  url: string;
  /** Where its subscribers connect: node B across two brokers, else `url`. */
  subUrl: string;
  /** Two brokers: the relay URL of each node, A first; one broker: [url]. */
  readonly urls: readonly string[];
  readonly records: readonly ProbeRecord[];
  /** Records from now on belong to this question. */
  ask(question: string): void;
  /** Resolves with the first record from now on that `match` accepts; the caller bounds the wait. */
  next(match: (r: ProbeRecord) => boolean): Promise<ProbeRecord>;
  /** Calls `listener` for every record from now on, until the returned function is called. */
  watch(listener: (r: ProbeRecord) => void): () => void;
  close(): Promise<void>;
}

/** One relay in front of each upstream (one broker, or node A and node B). */
export async function startRecorder(upstreams: Address | readonly Address[], trace?: TraceWriter): Promise<Recorder> {
  const list = Array.isArray(upstreams) ? upstreams : [upstreams as Address];
  const records: ProbeRecord[] = [];
  const start = performance.now();
  let question = '';
  const listeners = new Set<(r: ProbeRecord) => void>();
  // Each relay counts its connections from 1: one count across them keeps a connection's number unique.
  const connections = new Map<string, number>();
  const onPacket = (node: NodeLabel | undefined, event: RelayPacketEvent) => {
    const key = `${node ?? ''}:${event.connection}`;
    if (!connections.has(key)) connections.set(key, connections.size + 1);
    const connection = connections.get(key)!;
    const record: ProbeRecord = { n: records.length + 1, question, connection, ...(node && { node }), clientId: event.clientId, direction: event.direction, packet: event.packet, at: event.at };
    records.push(record);
    if (trace) {
      const leg = /-pub/.test(event.clientId) ? 'publisher' : 'subscriber';
      // A CONNECT says which MQTT its connection speaks (the probe mixes 3.1, 3.1.1 and 5).
      const version = event.packet.cmd === 'connect' ? { protocolVersion: event.packet.protocolVersion } : {};
      const line: TraceRecord & { record: number; question: string; connection: number; protocolVersion?: number } = {
        record: record.n,
        question,
        connection,
        ...traceRecord(event, { leg, seenBy: 'proxy', protocol: 4, start, ...(node && { node }) }),
        ...version,
        clientId: event.clientId,
      };
      trace.write(line);
    }
    for (const listener of [...listeners]) listener(record);
  };
  const relays: Relay[] = [];
  try {
    for (const [i, upstream] of list.entries()) {
      const node = list.length > 1 ? (['A', 'B'] as const)[i] : undefined;
      relays.push(await startRelay({ upstream, onPacket: (event) => onPacket(node, event) }));
    }
  } catch (error) {
    await Promise.all(relays.map((r) => r.close()));
    throw error;
  }
  const urls = relays.map((r) => r.url);
  return {
    url: urls[0]!,
    subUrl: urls.at(-1)!,
    urls,
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
      await Promise.all(relays.map((r) => r.close()));
    },
  };
}
