// The one payload format of numbered traffic: the sequence number in ASCII,
// then '.' up to the payload size (one line, so mosquitto_pub -l can send it too).

/** The payload for sequence number `seq`, at least `size` bytes. */
export function payloadFor(seq: number, size: number): Buffer {
  const text = String(seq);
  const buffer = Buffer.alloc(Math.max(size, text.length), 0x2e);
  buffer.write(text, 0, 'latin1');
  return buffer;
}

/** The sequence number at the start of a payload, or null if it has none. */
export function seqOf(payload: Uint8Array): number | null {
  let value = 0;
  let digits = 0;
  for (; digits < payload.length && digits < 15; digits++) {
    const c = payload[digits]!;
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
  }
  return digits === 0 ? null : value;
}
