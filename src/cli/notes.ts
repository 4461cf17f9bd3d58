// The subscriber's explanations: the lines that say what QoS a message really
// came at, and why, in words a learner can follow.
import { effectiveQos, type QoS } from '../mqtt/qos';
import { reasonText } from '../mqtt/reason-codes';
import type { Delivery, Subscription } from '../mqtt/subscriber';

export function describeGrant(sub: Subscription): string {
  if (sub.granted >= 0x80) return `subscription to '${sub.topic}' refused by the broker: ${reasonText(sub.granted)}`;
  const base = `subscribed to '${sub.topic}': asked for QoS ${sub.requested}, broker granted QoS ${sub.granted}`;
  if (sub.granted < sub.requested) {
    return `${base}; messages will arrive at QoS ${sub.granted} at most, whatever the publisher uses`;
  }
  return base;
}

/** `message #1 on home/sample_topic at QoS 1 (queued while offline): {...}`; the payload is left out when it goes to stdout alone. */
export function describeDelivery(index: number, d: Delivery, payload: string | undefined): string {
  const tags = [d.queued && 'queued while offline', d.retain && 'retained', d.dup && 'DUP=1: a redelivery'].filter(Boolean);
  const head = `message #${index} on ${d.topic} at QoS ${d.qos}${tags.length ? ` (${tags.join(', ')})` : ''}`;
  return payload === undefined ? head : `${head}: ${payload}`;
}

/**
 * Why a message came at a lower QoS than the subscription's, or null. The
 * broker sends at MIN(publish QoS, granted QoS), so a lower QoS on our leg
 * means the publisher used that lower QoS.
 */
export function explainDelivery(delivered: QoS, granted: QoS): string | null {
  if (delivered >= granted) return null;
  return (
    `QoS ${delivered} < subscription QoS ${granted}: the publisher sent at QoS ${delivered}, and the broker ` +
    `forwards at MIN(publish ${delivered}, subscription ${granted}) = ${effectiveQos(delivered, granted)}`
  );
}
