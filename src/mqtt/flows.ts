// Our outgoing flows as the wire shows them: which packet ids are in use, at
// which QoS, and how far each handshake got. From that, the broker's answers
// are checked against the rules. MQTT.js takes a PUBACK as the end of a QoS 2
// flow and a PUBCOMP as the end of a QoS 1 flow, and drops an ack for an id it
// never used without a word; a learner must see each of these named.
import type { Packet } from './packet-event';
import type { QoS } from './qos';

/** A broken MQTT rule: what the broker did, and the rule's id in the MQTT 3.1.1 specification. */
export interface Violation {
  /** e.g. `MQTT-4.3.3-2`. */
  rule: string;
  /** What the broker did, in words: `answered our QoS 2 PUBLISH id=1 with PUBACK (QoS 2 needs PUBREC, PUBREL, PUBCOMP)`. */
  text: string;
  /** The packet that broke it, as it crossed; absent when its bytes could not be read as a packet. */
  packet?: Packet;
}

/** How far one of our flows got. */
export interface Flow {
  cmd: 'publish' | 'subscribe' | 'unsubscribe';
  qos: QoS;
  /** QoS 2 only: PUBREC came, so the broker owns the message; only PUBCOMP is missing. */
  pubrecSeen: boolean;
}

export class FlowTracker {
  /** Our flows in progress, by packet id. */
  readonly open = new Map<number, Flow>();

  /** Call for every packet we wrote to the wire. */
  sent(packet: Packet): void {
    if (packet.cmd === 'publish' && packet.qos > 0 && packet.messageId !== undefined) {
      this.open.set(packet.messageId, { cmd: 'publish', qos: packet.qos, pubrecSeen: false });
    }
    if ((packet.cmd === 'subscribe' || packet.cmd === 'unsubscribe') && packet.messageId !== undefined) {
      this.open.set(packet.messageId, { cmd: packet.cmd, qos: 0, pubrecSeen: false });
    }
  }

  /** Call for every packet that came in; returns the rule it breaks, if any. */
  received(packet: Packet): Violation | null {
    const id = packet.messageId;
    if (id === undefined) return null;
    const flow = this.open.get(id);
    const name = packet.cmd.toUpperCase();
    switch (packet.cmd) {
      case 'puback':
      case 'pubrec':
      case 'pubcomp': {
        if (!flow || flow.cmd !== 'publish') {
          return { rule: 'MQTT-2.3.1-6', text: `sent ${name} id=${id}, but we have no PUBLISH with that id in flight (an acknowledgement must carry the id of the PUBLISH it answers)`, packet };
        }
        const expected = flow.qos === 1 ? 'PUBACK' : flow.pubrecSeen ? 'PUBCOMP' : 'PUBREC';
        if (name !== expected) {
          const rule = flow.qos === 1 ? 'MQTT-4.3.2-2' : 'MQTT-4.3.3-2';
          const flowText = flow.qos === 1 ? 'QoS 1 is PUBLISH, PUBACK' : 'QoS 2 is PUBLISH, PUBREC, PUBREL, PUBCOMP';
          return { rule, text: `answered our QoS ${flow.qos} PUBLISH id=${id} with ${name} where ${expected} was due (${flowText})`, packet };
        }
        if (packet.cmd === 'pubrec') flow.pubrecSeen = true;
        else this.open.delete(id);
        return null;
      }
      case 'suback':
      case 'unsuback': {
        const asked = packet.cmd === 'suback' ? 'subscribe' : 'unsubscribe';
        if (!flow || flow.cmd !== asked) {
          const rule = packet.cmd === 'suback' ? 'MQTT-3.8.4-2' : 'MQTT-3.10.4-4';
          return { rule, text: `sent ${name} id=${id}, but we have no ${asked.toUpperCase()} with that id in flight`, packet };
        }
        this.open.delete(id);
        return null;
      }
      default:
        return null;
    }
  }

  /** The flow for a PUBLISH id, if it is still in flight. */
  publish(id: number): Flow | undefined {
    const flow = this.open.get(id);
    return flow?.cmd === 'publish' ? flow : undefined;
  }
}
