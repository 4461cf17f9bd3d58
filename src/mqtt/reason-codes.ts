// Names for the codes a broker sends back, so a learner reads words, not hex.

/** MQTT 3.1.1 CONNACK return codes (section 3.2.2.3). */
const CONNACK_V3: Record<number, string> = {
  0: 'accepted',
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/** MQTT 5 reason codes (section 2.4), the ones CONNACK, PUBACK, PUBREC, PUBCOMP and SUBACK carry. */
const REASON_V5: Record<number, string> = {
  0x00: 'success',
  0x01: 'granted QoS 1',
  0x02: 'granted QoS 2',
  0x10: 'no matching subscribers',
  0x80: 'unspecified error',
  0x81: 'malformed packet',
  0x82: 'protocol error',
  0x83: 'implementation specific error',
  0x84: 'unsupported protocol version',
  0x85: 'client identifier not valid',
  0x86: 'bad user name or password',
  0x87: 'not authorized',
  0x88: 'server unavailable',
  0x89: 'server busy',
  0x8a: 'banned',
  0x8c: 'bad authentication method',
  0x8f: 'topic filter invalid',
  0x90: 'topic name invalid',
  0x91: 'packet identifier in use',
  0x92: 'packet identifier not found',
  0x93: 'receive maximum exceeded',
  0x95: 'packet too large',
  0x97: 'quota exceeded',
  0x99: 'payload format invalid',
  0x9a: 'retain not supported',
  0x9b: 'QoS not supported',
  0x9c: 'use another server',
  0x9f: 'connection rate exceeded',
  0xa1: 'subscription identifiers not supported',
  0xa2: 'wildcard subscriptions not supported',
};

/**
 * A CONNACK's code by name. A 3.1.1-only broker (aedes) answers an MQTT 5
 * CONNECT with a 3.1.1 CONNACK (code 1), which an MQTT 5 parser reads as a
 * reason code below 0x80: no MQTT 5 CONNACK has one, so read it as 3.1.1.
 */
export function connackReason(code: number, v5: boolean): string {
  return (readsAsV5(code, v5) ? REASON_V5[code] : CONNACK_V3[code]) ?? 'unknown';
}

/** Whether a CONNACK code on this connection is an MQTT 5 reason code (see connackReason). */
export function readsAsV5(code: number, v5: boolean): boolean {
  return v5 && (code === 0 || code >= 0x80);
}

export function reasonName(code: number): string {
  return REASON_V5[code] ?? 'unknown';
}

/** The one way we write a code's number: `0x87` (MQTT 5 reason codes and SUBACK refusals are hex in the spec). */
export function hexCode(code: number): string {
  return `0x${code.toString(16).padStart(2, '0')}`;
}

/** An MQTT 5 reason code (or a SUBACK refusal) as shown everywhere: `0x87 not authorized`. */
export function reasonText(code: number): string {
  return `${hexCode(code)} ${reasonName(code)}`;
}

/** A CONNACK's code, number only: `0x87` (MQTT 5), `code 4` (3.1.1, including aedes's 3.1.1 answer to v5: see connackReason). */
export function connackCode(code: number, v5: boolean): string {
  return readsAsV5(code, v5) ? hexCode(code) : `code ${code}`;
}

/** A CONNACK's code as shown everywhere: `0x87 not authorized` (MQTT 5), `code 4 bad user name or password` (3.1.1). */
export function connackText(code: number, v5: boolean): string {
  return `${connackCode(code, v5)} ${connackReason(code, v5)}`;
}
