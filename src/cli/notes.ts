// The subscriber's explanations: the lines that say what QoS a message really
// came at, and why, in words a learner can follow.
import { escapeText } from '../mqtt/format';
import { effectiveQos, type QoS } from '../mqtt/qos';
import { reasonText } from '../mqtt/reason-codes';
import type { Delivery, Refused, Subscription } from '../mqtt/subscriber';

/** After CONNACK with sessionPresent=1. */
export function describeResumed(clientId: string): string {
  return `session resumed (sessionPresent=1): the broker kept the session of client id '${escapeText(clientId)}'; its subscriptions and the messages it stored for us arrive now; --clean starts fresh`;
}

export function describeGrant(sub: Subscription): string {
  const topic = escapeText(sub.topic);
  if (sub.granted >= 0x80) return `subscription to '${topic}' refused by the broker: ${reasonText(sub.granted)}`;
  const base = `subscribed to '${topic}': asked for QoS ${sub.requested}, broker granted QoS ${sub.granted}`;
  if (sub.granted < sub.requested) {
    return `${base}; messages will arrive at QoS ${sub.granted} at most, whatever the publisher uses`;
  }
  return base;
}

/**
 * `message #1 on home/sample_topic at QoS 1 (queued while offline): {...}`; the payload is left out when it goes to stdout alone.
 * `older`: the topic is outside the --topic asked for now, so it came through a subscription the session kept from before.
 */
export function describeDelivery(index: number, d: Delivery, payload: string | undefined, older = false): string {
  const why = d.qos === 2 ? 'a resend; QoS 2 hands each message on once' : 'possibly a second copy, QoS 1 is at least once';
  const copy = d.dup ? `DUP=1: ${why}` : `same id, topic and payload as the one before: ${why}`;
  const tags = [
    d.queued && 'queued while offline',
    older && 'through an older subscription of this session, not the --topic asked for now',
    d.retain && 'retained',
    d.secondCopy && copy,
  ].filter(Boolean);
  const head = `message #${index} on ${escapeText(d.topic)} at QoS ${d.qos}${tags.length ? ` (${tags.join(', ')})` : ''}`;
  return payload === undefined ? head : `${head}: ${escapeText(payload)}`;
}

/** A PUBLISH that came after the subscriber stopped taking messages (--count reached, or stdout closed). */
export function describeRefused(r: Refused, why: string, persistent: boolean): string {
  const id = r.messageId === undefined ? '' : ` id=${r.messageId}`;
  const head = `received PUBLISH${id} on ${escapeText(r.topic)} at QoS ${r.qos} after ${why}: not handed on`;
  if (r.qos === 0) return `${head} (QoS 0: it is gone)`;
  if (r.acknowledged) return `${head}; its PUBREC had gone out, so the broker counts it as delivered`;
  const next = persistent ? 'the broker keeps it in this session and sends it again on the next connection' : 'with --clean the session ends now, and the message with it';
  return `${head}, not acknowledged: ${next}`;
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
