// QoS rules in one place: the levels, the packets each level puts on the wire,
// and the downgrade rule a broker applies toward a subscriber.

export type QoS = 0 | 1 | 2;
export const QOS_LEVELS: readonly QoS[] = [0, 1, 2];

export const QOS_NAMES: Record<QoS, string> = {
  0: 'at most once',
  1: 'at least once',
  2: 'exactly once',
};

/** Accepts exactly "0", "1" or "2" (or those numbers); anything else is null. */
export function parseQos(value: unknown): QoS | null {
  const text = String(value).trim();
  return text === '0' || text === '1' || text === '2' ? (Number(text) as QoS) : null;
}

/**
 * The QoS a subscriber really gets: a broker forwards a message at the lower of
 * the QoS it was published with and the QoS granted to the subscription
 * (MQTT 3.1.1 section 3.8.4, MQTT 5 section 3.8.4).
 */
export function effectiveQos(publishQos: QoS, subscriptionQos: QoS): QoS {
  return Math.min(publishQos, subscriptionQos) as QoS;
}

/** The packets of one delivery on one leg (sender → receiver), in wire order. */
export function flowPackets(qos: QoS): readonly string[] {
  if (qos === 0) return ['publish'];
  if (qos === 1) return ['publish', 'puback'];
  return ['publish', 'pubrec', 'pubrel', 'pubcomp'];
}
