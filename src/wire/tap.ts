// The broker's view of a connection: parse the bytes that cross one socket,
// in both directions, into packets. Nothing is changed on the way.
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import mqttPacket from 'mqtt-packet';
import type { BrokerPacketEvent } from '../mqtt/packet-event';

export type BrokerPacketListener = (event: BrokerPacketEvent) => void;

export function tapSocket(socket: Socket, onPacket: BrokerPacketListener): void {
  let clientId = '?';
  const incoming = mqttPacket.parser();
  const outgoing = mqttPacket.parser();
  // A tap must never break the connection it watches; a parse error just ends the view.
  incoming.on('error', () => undefined);
  outgoing.on('error', () => undefined);

  incoming.on('packet', (packet) => {
    if (packet.cmd === 'connect') {
      clientId = packet.clientId || '(empty id)';
      // The broker answers in the client's protocol version.
      (outgoing as unknown as { settings: { protocolVersion?: number } }).settings = { protocolVersion: packet.protocolVersion };
    }
    onPacket({ at: performance.now(), direction: 'receive', clientId, packet });
  });
  outgoing.on('packet', (packet) => onPacket({ at: performance.now(), direction: 'send', clientId, packet }));

  // aedes reads with read() on 'readable', which also emits 'data': a 'data' listener sees every byte.
  socket.on('data', (chunk: Buffer) => incoming.parse(chunk));
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const encoding = typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8';
    outgoing.parse(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk));
    return write(chunk, ...rest);
  }) as Socket['write'];
}
