// The trace: one JSON object per packet, one per line (JSON lines), from the
// same packet events the terminal shows. The lab, both tools and the bench
// write it (--trace FILE), all through traceWriter. Fields a packet type does not carry are left out; a password
// never is written. With --fault, the proxy adds its own records: each cut, and
// the packet it swallowed (`dropped`).
import mqttPacket from 'mqtt-packet';
import type { ProtocolVersion } from './connection';
import type { Direction, Leg, PacketEvent } from './packet-event';

export interface TraceRecord {
  /** Milliseconds since the run started. */
  time: number;
  /** The lab's pair, e.g. "pub 1 / sub 2". */
  pair?: string;
  /** Which connection: the publisher's (publisher-broker), the subscriber's (broker-subscriber), or the hop between two broker nodes. */
  leg: Leg | 'hop';
  /** Who logged the packet: a client, the broker's tap, the fault proxy; on the hop, the bridge's relay or our redis subscriber. */
  seenBy: Leg | 'broker' | 'proxy' | 'bridge' | 'redis';
  /** Across broker nodes: the node whose tap logged it (`A`, `B`), or on the hop the node it left. */
  node?: string;
  /** Seen from `seenBy` (the proxy sees as the broker does: `send` is toward the client). */
  direction: Direction;
  /** The fault proxy swallowed this packet: it never reached the other end. */
  dropped?: boolean;
  type: string;
  messageId?: number;
  qos?: number;
  dup?: boolean;
  retain?: boolean;
  topic?: string;
  /**
   * The whole packet's size on the wire. A received packet carries the remaining length its
   * parser read from the bytes; a sent one is encoded as MQTT.js encodes it, in this connection's
   * protocol version. Absent on the redis hop: what crossed there was aedes's message, not MQTT bytes.
   */
  bytes?: number;
  payloadBytes?: number;
  clientId?: string;
  granted?: number[];
  reasonCode?: number;
}

/** The fault proxy cut the connection. */
export interface CutRecord {
  time: number;
  pair?: string;
  leg: Leg;
  seenBy: 'proxy';
  type: 'cut';
  /** e.g. `before puback`, `timer after 312 ms`. */
  reason: string;
}

export interface TraceContext {
  leg: TraceRecord['leg'];
  seenBy: TraceRecord['seenBy'];
  protocol: ProtocolVersion;
  /** performance.now() when the run started. */
  start: number;
  pair?: string;
  node?: string;
}

export function traceRecord(event: PacketEvent, context: TraceContext): TraceRecord {
  const { packet } = event;
  const record: TraceRecord = {
    time: msSince(context.start, event.at),
    ...(context.pair === undefined ? {} : { pair: context.pair }),
    leg: context.leg,
    seenBy: context.seenBy,
    ...(context.node === undefined ? {} : { node: context.node }),
    direction: event.direction,
    type: packet.cmd,
    ...(context.seenBy === 'redis' ? {} : { bytes: wireSize(packet, context.protocol) }),
  };
  // MQTT.js leaves messageId 0 (or a stale id) on a QoS 0 PUBLISH object; on the wire it has none. aedes's message on redis carries null.
  if (typeof packet.messageId === 'number' && !(packet.cmd === 'publish' && packet.qos === 0)) record.messageId = packet.messageId;
  switch (packet.cmd) {
    case 'publish':
      Object.assign(record, {
        qos: packet.qos,
        dup: Boolean(packet.dup),
        retain: Boolean(packet.retain),
        topic: packet.topic,
        payloadBytes: Buffer.byteLength(packet.payload),
      });
      break;
    case 'subscribe':
      Object.assign(record, { topic: packet.subscriptions.map((s) => s.topic).join(','), qos: Math.max(...packet.subscriptions.map((s) => s.qos)) });
      break;
    case 'suback':
      record.granted = packet.granted as number[];
      break;
    case 'connect':
      record.clientId = packet.clientId;
      break;
    default: {
      const coded = packet as { reasonCode?: number; returnCode?: number };
      const code = coded.reasonCode ?? coded.returnCode;
      if (code !== undefined) record.reasonCode = code;
    }
  }
  return record;
}

/** Fixed header byte + the remaining length's own 1-4 bytes + the remaining length. */
function wireSize(packet: PacketEvent['packet'], protocol: ProtocolVersion): number {
  const remaining = (packet as { length?: unknown }).length;
  if (typeof remaining !== 'number') return mqttPacket.generate(packet, { protocolVersion: protocol }).length;
  return 1 + (remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4) + remaining;
}

/** Milliseconds from `start` to `at`, to the microsecond. */
export function msSince(start: number, at: number): number {
  return Math.round((at - start) * 1000) / 1000;
}

export function traceLine(record: TraceRecord | CutRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** Where a trace goes: an open file (src/cli/output-file.ts opens it and names the flag in its errors). */
export interface TraceSink {
  write(text: string): void;
  /** Throws if a write failed: the trace is incomplete. */
  close(): void;
}

export interface TraceWriter {
  /** One record, written at once: a trace stays complete up to the last packet if the run is interrupted. */
  write(record: TraceRecord | CutRecord): void;
  /** Many records, written in large chunks (the bench formats its whole run after measuring it). */
  writeAll(records: Iterable<TraceRecord | CutRecord>): void;
  /** Records written so far. */
  readonly written: { packets: number; cuts: number };
  close(): void;
}

const CHUNK = 64 * 1024;

/** The one trace writer: the lab, both tools and the bench hand it their sink. */
export function traceWriter(sink: TraceSink): TraceWriter {
  const written = { packets: 0, cuts: 0 };
  const line = (record: TraceRecord | CutRecord) => {
    if (record.type === 'cut') written.cuts++;
    else written.packets++;
    return traceLine(record);
  };
  return {
    write: (record) => sink.write(line(record)),
    writeAll: (records) => {
      let pending = '';
      for (const record of records) {
        pending += line(record);
        if (pending.length >= CHUNK) {
          sink.write(pending);
          pending = '';
        }
      }
      if (pending) sink.write(pending);
    },
    written,
    close: () => sink.close(),
  };
}
