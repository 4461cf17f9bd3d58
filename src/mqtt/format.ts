// How a packet becomes one line of text. Every line printed for a packet comes
// from a real packet event; nothing here invents packets.
import type { Packet, PacketEvent, BrokerPacketEvent } from './packet-event';
import { connackReason, connackText, hexCode, readsAsV5, reasonName, reasonText } from './reason-codes';

export interface Style {
  verbose: boolean;
  color: boolean;
}

const COLORS = { send: '\x1b[32m', receive: '\x1b[36m', note: '\x1b[33m', dim: '\x1b[2m', reset: '\x1b[0m' };
export type Tint = keyof Omit<typeof COLORS, 'reset'>;

export function paint(text: string, tint: Tint, color: boolean): string {
  return color ? `${COLORS[tint]}${text}${COLORS.reset}` : text;
}

/** Whether to color: a terminal, not turned off by --no-color or NO_COLOR (https://no-color.org). */
export function useColor(flag: boolean, stream: { isTTY?: boolean }, env = process.env): boolean {
  return flag && Boolean(stream.isTTY) && !('NO_COLOR' in env && env.NO_COLOR !== '');
}

function bytes(payload: unknown): number {
  if (payload === undefined || payload === null) return 0;
  if (typeof payload === 'string') return Buffer.byteLength(payload);
  return (payload as Buffer).length ?? 0;
}

/** Details of a packet for --verbose, in a fixed field order. Never includes a password. */
export function packetDetails(packet: Packet): string {
  const p = packet as Packet & Record<string, unknown>;
  const fields: string[] = [];
  const id = p.messageId;
  switch (packet.cmd) {
    case 'publish':
      if (packet.qos > 0) fields.push(`id=${id}`);
      fields.push(`qos=${packet.qos}`, `dup=${packet.dup ? 1 : 0}`, `retain=${packet.retain ? 1 : 0}`);
      fields.push(`topic=${packet.topic}`, `payload=${bytes(packet.payload)}B`);
      break;
    case 'connect':
      fields.push(`client-id=${packet.clientId}`, `clean=${packet.clean}`);
      fields.push(`protocol=${packet.protocolVersion === 5 ? '5' : '3.1.1'}`, `keepalive=${packet.keepalive}`);
      if (packet.username !== undefined) fields.push(`username=${packet.username}`);
      if (packet.password !== undefined) fields.push('password=<hidden>');
      break;
    case 'connack': {
      const v5 = packet.reasonCode !== undefined;
      const code = packet.reasonCode ?? packet.returnCode ?? 0;
      fields.push(`sessionPresent=${packet.sessionPresent}`, `code=${readsAsV5(code, v5) ? hexCode(code) : code} (${connackReason(code, v5)})`);
      // An MQTT 5 broker announces its limits here; a QoS above maximum-qos gets DISCONNECT 0x9B.
      if (packet.properties?.maximumQoS !== undefined) fields.push(`maximum-qos=${packet.properties.maximumQoS}`);
      break;
    }
    case 'subscribe':
      fields.push(`id=${id}`, ...packet.subscriptions.map((s) => `topic=${s.topic} qos=${s.qos}`));
      break;
    case 'suback':
      fields.push(`id=${id}`, `granted=${(packet.granted as number[]).map((g) => (g >= 0x80 ? `${hexCode(g)} (${reasonName(g)})` : g)).join(',')}`);
      break;
    default:
      if (id !== undefined) fields.push(`id=${id}`);
      if (typeof p.reasonCode === 'number' && p.reasonCode !== 0) fields.push(`reason=${hexCode(p.reasonCode)} (${reasonName(p.reasonCode)})`);
  }
  return fields.join(' ');
}

/**
 * A code other than success that a packet carries, by name: `0x87 not
 * authorized` (MQTT 5), `code 5 not authorized` (a 3.1.1 CONNACK), or null.
 * Shown even without --verbose: a refusal is part of the flow, not a detail.
 */
export function packetReason(packet: Packet): string | null {
  switch (packet.cmd) {
    case 'connack': {
      const code = packet.reasonCode ?? packet.returnCode ?? 0;
      return code === 0 ? null : connackText(code, packet.reasonCode !== undefined);
    }
    case 'suback': {
      const refused = (packet.granted as number[]).filter((g) => g >= 0x80);
      return refused.length ? refused.map(reasonText).join(', ') : null;
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'disconnect':
      return packet.reasonCode ? reasonText(packet.reasonCode) : null;
    default:
      return null;
  }
}

/** `send: publish`, the lesson's form; with verbose, the details follow. */
export function formatPacket(event: PacketEvent, style: Style): string {
  const head = paint(`${event.direction}: ${event.packet.cmd}`, event.direction, style.color);
  if (style.verbose) return `${head}  ${packetDetails(event.packet)}`.trimEnd();
  const reason = packetReason(event.packet);
  return reason ? `${head}  ${reason}` : head;
}

/**
 * The broker's view: which client, which way, and the packet with its QoS
 * always shown for PUBLISH, because that is where a downgrade becomes visible.
 */
export function formatBrokerPacket(event: BrokerPacketEvent, style: Style): string {
  const way = event.direction === 'receive' ? `${event.clientId} -> broker` : `broker -> ${event.clientId}`;
  const { packet } = event;
  const qos = packet.cmd === 'publish' ? ` qos=${packet.qos}` : '';
  const reason = packetReason(packet);
  const details = style.verbose ? `  ${packetDetails(packet)}` : `${qos}${reason ? `  ${reason}` : ''}`;
  return `${paint(way, event.direction, style.color)}: ${packet.cmd}${details}`.trimEnd();
}
