// The MQTT rules a broker can break in answering a client's packets, read off
// the timeline: a QoS 1 PUBLISH is answered with PUBACK, a QoS 2 PUBLISH with
// PUBREC, a PUBREL with PUBCOMP, each with the id of the packet it answers.
// MQTT.js settles some wrong answers without a word (a PUBACK ends its QoS 2
// flow, a PUBCOMP its QoS 1 flow); the lab names them.
import type { ProtocolVersion } from '../mqtt/connection';
import type { Link } from '../mqtt/packet-event';
import type { Arrow } from './timeline';

export interface Violation {
  link: Link;
  /** The broker's packet that broke the rule. */
  arrow: Arrow;
  /** What the broker did, e.g. `the broker answered the QoS 2 PUBLISH id=1 with PUBACK, not PUBREC`. */
  text: string;
  /** The rule, as the spec numbers it for the protocol version in use: `MQTT-4.3.3-2`. */
  rule: string;
}

type Pending = 'publish1' | 'publish2' | 'pubrel';

const ANSWER: Record<Pending, string> = { publish1: 'puback', publish2: 'pubrec', pubrel: 'pubcomp' };
const ASKED: Record<Pending, string> = { publish1: 'QoS 1 PUBLISH', publish2: 'QoS 2 PUBLISH', pubrel: 'PUBREL' };

/** The receiver's duty for each flow step, MQTT 3.1.1 numbering then MQTT 5. */
const RULE: Record<Pending | 'unknownId', Record<ProtocolVersion, string>> = {
  publish1: { 4: 'MQTT-4.3.2-2', 5: 'MQTT-4.3.2-4' },
  publish2: { 4: 'MQTT-4.3.3-2', 5: 'MQTT-4.3.3-8' },
  pubrel: { 4: 'MQTT-4.3.3-2', 5: 'MQTT-4.3.3-11' },
  unknownId: { 4: 'MQTT-2.3.1-6', 5: 'MQTT-2.2.1-5' },
};

const ACKS = new Set(['puback', 'pubrec', 'pubcomp']);

/** Every broker answer on either leg that breaks a rule, in timeline order. */
export function violationsOf(arrows: readonly Arrow[], protocol: ProtocolVersion): Violation[] {
  const found: Violation[] = [];
  // Per leg, across reconnects: a resumed session answers ids of the connection before.
  const pending: Record<Link, Map<number, Pending>> = { publisher: new Map(), subscriber: new Map() };
  for (const arrow of arrows) {
    const { packet, link } = arrow;
    const open = pending[link];
    const id = packet.messageId;
    if (id === undefined) continue;
    if (arrow.to === 'broker') {
      if (packet.cmd === 'publish' && packet.qos > 0) open.set(id, packet.qos === 1 ? 'publish1' : 'publish2');
      if (packet.cmd === 'pubrel') open.set(id, 'pubrel');
      continue;
    }
    if (!ACKS.has(packet.cmd)) continue;
    const name = packet.cmd.toUpperCase();
    const asked = open.get(id);
    if (asked === undefined) {
      found.push({ link, arrow, text: `the broker sent ${name} id=${id}, an id the ${link} has no ${packet.cmd === 'pubcomp' ? 'PUBREL' : 'PUBLISH'} in flight for`, rule: RULE.unknownId[protocol] });
      continue;
    }
    if (packet.cmd !== ANSWER[asked]) {
      found.push({ link, arrow, text: `the broker answered the ${ASKED[asked]} id=${id} with ${name}, not ${ANSWER[asked].toUpperCase()}`, rule: RULE[asked][protocol] });
    }
    // The answer settles the step either way (MQTT.js takes a wrong one as the end of the flow).
    if (packet.cmd === 'pubrec' && asked === 'publish2') continue;
    open.delete(id);
  }
  return found;
}

/** `the broker answered ... [MQTT-4.3.3-2]`. */
export function violationText(v: Violation): string {
  return `${v.text} [${v.rule}]`;
}
