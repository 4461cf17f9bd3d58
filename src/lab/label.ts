// The short text on a diagram arrow: the packet type as the spec spells it,
// plus the fields that tell a QoS flow apart (QoS, message id, DUP, reason).
import type { Packet } from '../mqtt/packet-event';
import { connackCode, hexCode } from '../mqtt/reason-codes';

export function arrowLabel(packet: Packet): string {
  const name = packet.cmd.toUpperCase();
  const id = packet.messageId === undefined ? '' : ` id=${packet.messageId}`;
  switch (packet.cmd) {
    case 'publish':
      return `${name} q${packet.qos}${packet.qos > 0 ? id : ''}${packet.dup ? ' dup' : ''}${packet.retain ? ' retain' : ''}`;
    case 'subscribe':
      return `${name} q${packet.subscriptions.map((s) => s.qos).join(',')}`;
    case 'suback':
      return `${name} granted ${(packet.granted as number[]).map(grantText).join(',')}`;
    case 'connack': {
      const code = packet.reasonCode ?? packet.returnCode ?? 0;
      return code === 0 ? name : `${name} ${connackCode(code, packet.reasonCode !== undefined)}`;
    }
    default: {
      const reason = (packet as { reasonCode?: number }).reasonCode;
      return `${name}${id}${reason ? ` ${hexCode(reason)}` : ''}`;
    }
  }
}

function grantText(code: number): string {
  return code >= 0x80 ? hexCode(code) : `q${code}`;
}
