// Reading one connection's packets, as they crossed: the framer splits each
// direction's bytes into whole packets, mqtt-packet parses each one. Both the
// socket tap (aedes) and the relay (mosquitto, faults) read with this.
import mqttPacket, { type Packet } from 'mqtt-packet';
import { framer, MalformedLength } from './framer';

/** One whole packet as it crossed, and what mqtt-packet made of it (null: it refused the bytes). */
export interface Read {
  frame: Buffer;
  packet: Packet | null;
}

/** What one chunk of one direction held. */
export interface Reads {
  /** The whole packets now complete, in order. */
  reads: Read[];
  /** Bytes no reader can split: from a malformed remaining length on, everything that direction sends. */
  unread: Buffer | null;
}

/** Feeds one direction's bytes in. */
export type DirectionReader = (chunk: Buffer) => Reads;

/** Both directions of one connection, named from the broker's side: 'receive' is client to broker. */
export interface ConnectionReader {
  receive: DirectionReader;
  send: DirectionReader;
  /** The client id from this connection's CONNECT, `(empty id)` for an empty one, or '?' before it. */
  clientId(): string;
}

export function connectionReader(): ConnectionReader {
  let clientId = '?';
  const up = mqttPacket.parser();
  const down = mqttPacket.parser();
  const onConnect = (packet: Packet) => {
    if (packet.cmd !== 'connect') return;
    clientId = packet.clientId || '(empty id)';
    // mqtt-packet parses as MQTT 3.1.1 unless told: the broker answers in the client's protocol version.
    (down as unknown as { settings: { protocolVersion?: number } }).settings = { protocolVersion: packet.protocolVersion };
  };
  return { receive: direction(up, onConnect), send: direction(down, () => undefined), clientId: () => clientId };
}

function direction(parser: ReturnType<typeof mqttPacket.parser>, onPacket: (packet: Packet) => void): DirectionReader {
  const split = framer();
  let parsed: Packet | null = null;
  parser.on('packet', (packet: Packet) => (parsed = packet));
  // A frame mqtt-packet refuses is still a frame: it is forwarded, just not read.
  parser.on('error', () => undefined);
  const read = (frame: Buffer): Read => {
    parsed = null;
    parser.parse(frame); // a whole frame: 'packet' fires synchronously
    const packet = parsed as Packet | null;
    if (packet) onPacket(packet);
    return { frame, packet };
  };
  let lost = false;
  return (chunk) => {
    if (lost) return { reads: [], unread: chunk };
    try {
      return { reads: split(chunk).map(read), unread: null };
    } catch (error) {
      if (!(error instanceof MalformedLength)) throw error;
      lost = true;
      return { reads: error.frames.map(read), unread: error.rest };
    }
  };
}
