// How a packet becomes one line of text. Every line printed for a packet comes
// from a real packet event; nothing here invents packets.
import type { Packet, PacketEvent, BrokerPacketEvent } from './packet-event';
import { connackReason, connackText, hexCode, readsAsV5, reasonName, reasonText } from './reason-codes';

export interface Style {
  verbose: boolean;
  color: boolean;
}

const COLORS = { send: '\x1b[32m', receive: '\x1b[36m', note: '\x1b[33m', dim: '\x1b[2m', alarm: '\x1b[31m', reset: '\x1b[0m' };
export type Tint = keyof Omit<typeof COLORS, 'reset'>;

export function paint(text: string, tint: Tint, color: boolean): string {
  return color ? `${COLORS[tint]}${text}${COLORS.reset}` : text;
}

/** Whether to color: a terminal, not turned off by --no-color or NO_COLOR (https://no-color.org). */
export function useColor(flag: boolean, stream: { isTTY?: boolean }, env = process.env): boolean {
  return flag && Boolean(stream.isTTY) && !('NO_COLOR' in env && env.NO_COLOR !== '');
}

/**
 * Text from the network, made safe for a terminal line: control characters
 * (C0, DEL, C1: ESC sequences, CR, newlines) and the bidi overrides become
 * visible escapes (`\x1b`, `\n`, `\u202e`), so a topic, payload, client id or
 * reason string cannot write a fake line or move the cursor. JSON output is
 * written from the packets themselves and stays exact.
 */
export function escapeText(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    const code = c.charCodeAt(0);
    return named[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/** The MQTT 5 properties a CONNECT or CONNACK may carry, as -v shows them. */
const PROPERTY_NAMES: Record<string, string> = {
  sessionExpiryInterval: 'session-expiry',
  receiveMaximum: 'receive-maximum',
  maximumQoS: 'maximum-qos',
  retainAvailable: 'retain-available',
  maximumPacketSize: 'maximum-packet-size',
  assignedClientIdentifier: 'assigned-client-id',
  topicAliasMaximum: 'topic-alias-maximum',
  serverKeepAlive: 'server-keepalive',
  wildcardSubscriptionAvailable: 'wildcard-subscriptions',
  subscriptionIdentifiersAvailable: 'subscription-ids',
  sharedSubscriptionAvailable: 'shared-subscriptions',
  reasonString: 'reason',
};

function propertyFields(properties: Record<string, unknown> | undefined): string[] {
  if (!properties) return [];
  return Object.entries(PROPERTY_NAMES)
    .filter(([key]) => properties[key] !== undefined)
    .map(([key, name]) => {
      const value = properties[key];
      return `${name}=${typeof value === 'string' ? escapeText(value) : String(value)}`;
    });
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
      fields.push(`topic=${escapeText(String(packet.topic))}`, `payload=${bytes(packet.payload)}B`);
      break;
    case 'connect':
      fields.push(`client-id=${escapeText(packet.clientId)}`, `clean=${packet.clean}`);
      fields.push(`protocol=${packet.protocolVersion === 5 ? '5' : '3.1.1'}`, `keepalive=${packet.keepalive}`);
      // Only on the wire in MQTT 5; absent, the session ends with the connection, whatever clean says.
      fields.push(...propertyFields(packet.properties as Record<string, unknown> | undefined));
      if (packet.username !== undefined) fields.push(`username=${escapeText(packet.username)}`);
      if (packet.password !== undefined) fields.push('password=<hidden>');
      if (packet.will) fields.push(`will-topic=${escapeText(String(packet.will.topic))}`, `will-qos=${packet.will.qos}`, `will-retain=${packet.will.retain ? 1 : 0}`, `will-payload=${bytes(packet.will.payload)}B`);
      break;
    case 'connack': {
      const v5 = packet.reasonCode !== undefined;
      const code = packet.reasonCode ?? packet.returnCode ?? 0;
      fields.push(`sessionPresent=${packet.sessionPresent}`, `code=${readsAsV5(code, v5) ? hexCode(code) : code} (${connackReason(code, v5)})`);
      // An MQTT 5 broker announces its limits here (a QoS above maximum-qos gets DISCONNECT 0x9B) and may shorten our session expiry.
      fields.push(...propertyFields(packet.properties as Record<string, unknown> | undefined));
      break;
    }
    case 'subscribe':
      fields.push(`id=${id}`, ...packet.subscriptions.map((s) => `topic=${escapeText(s.topic)} qos=${s.qos}`));
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
  const who = escapeText(event.clientId);
  const way = event.direction === 'receive' ? `${who} -> broker` : `broker -> ${who}`;
  const { packet } = event;
  const qos = packet.cmd === 'publish' ? ` qos=${packet.qos}` : '';
  const reason = packetReason(packet);
  const details = style.verbose ? `  ${packetDetails(packet)}` : `${qos}${reason ? `  ${reason}` : ''}`;
  return `${paint(way, event.direction, style.color)}: ${packet.cmd}${details}`.trimEnd();
}
