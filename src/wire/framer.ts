// Splits a TCP byte stream into whole MQTT packets (fixed header + remaining
// length), so a reader parses whole packets and the relay can decide per packet
// whether to forward it.

/** A remaining length longer than 4 bytes: the stream cannot be split any further. */
export class MalformedLength extends Error {
  constructor(
    /** The whole packets before it, still good. */
    readonly frames: Buffer[],
    /** The bytes from the malformed header on. */
    readonly rest: Buffer,
  ) {
    super('malformed remaining length');
  }
}

/** Feeds bytes in; returns the complete packets now available, raw. Throws MalformedLength (once; call it no more after). */
export function framer(): (chunk: Buffer) => Buffer[] {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    const frames: Buffer[] = [];
    for (;;) {
      let size: number | null;
      try {
        size = frameSize(pending);
      } catch {
        throw new MalformedLength(frames, pending);
      }
      if (size === null || pending.length < size) break;
      frames.push(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
    return frames;
  };
}

/** The whole packet's length, or null if the header is not complete yet. */
export function frameSize(bytes: Buffer): number | null {
  let length = 0;
  let multiplier = 1;
  // The remaining length is 1 to 4 bytes, 7 bits each, high bit = more (MQTT 3.1.1 section 2.2.3).
  for (let i = 1; i <= 4; i++) {
    if (bytes.length <= i) return null;
    const byte = bytes[i]!;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return 1 + i + length;
    multiplier *= 128;
  }
  throw new Error('malformed remaining length');
}
