// The MQTT rules a broker broke in answering a client's packets, read off the
// timeline with the connection layer's own rule book (src/mqtt/flows.ts): the
// client's packets open flows, the broker's answers are checked against them.
// MQTT.js settles some wrong answers without a word (a PUBACK ends its QoS 2
// flow, a PUBCOMP its QoS 1 flow); the lab names them on the pair and the matrix.
import { FlowTracker } from '../mqtt/flows';
import type { Leg } from '../mqtt/packet-event';
import type { Arrow } from './timeline';

export interface Violation {
  leg: Leg;
  /** The broker's packet that broke the rule. */
  arrow: Arrow;
  /** What the broker did, e.g. `answered our QoS 2 PUBLISH id=1 with PUBACK where PUBREC was due (...)`. */
  text: string;
  /** The rule, as MQTT 3.1.1 numbers it: `MQTT-4.3.3-2`. */
  rule: string;
}

/** Every broker answer on either leg that breaks a rule, in timeline order. */
export function violationsOf(arrows: readonly Arrow[]): Violation[] {
  // Per leg, across reconnects, as the client itself keeps its flows.
  const flows: Record<Leg, FlowTracker> = { publisher: new FlowTracker(), subscriber: new FlowTracker() };
  const found: Violation[] = [];
  for (const arrow of arrows) {
    const tracker = flows[arrow.leg];
    if (arrow.to === 'broker') tracker.sent(arrow.packet);
    // A packet the fault proxy swallowed never reached the client: it answers nothing.
    else if (!arrow.lost) {
      const broken = tracker.received(arrow.packet);
      if (broken) found.push({ leg: arrow.leg, arrow, text: broken.text, rule: broken.rule });
    }
  }
  return found;
}

/** `the broker answered ... [MQTT-4.3.3-2]`. */
export function violationText(v: Violation): string {
  return `the broker ${v.text} [${v.rule}]`;
}
