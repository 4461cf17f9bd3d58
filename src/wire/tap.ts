// The broker's view of a connection: parse the bytes that cross one socket,
// in both directions, into packets. Nothing is changed on the way.
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BrokerPacketEvent } from '../mqtt/packet-event';
import { connectionReader, type DirectionReader } from './reader';

export type BrokerPacketListener = (event: BrokerPacketEvent) => void;

export function tapSocket(socket: Socket, onPacket: BrokerPacketListener): void {
  const reader = connectionReader();
  // A tap must never break the connection it watches: a malformed packet just ends the view (unread bytes are not shown).
  const view = (read: DirectionReader, direction: BrokerPacketEvent['direction']) => (chunk: Buffer) => {
    for (const { packet } of read(chunk).reads) if (packet) onPacket({ at: performance.now(), direction, clientId: reader.clientId(), packet });
  };
  const incoming = view(reader.receive, 'receive');
  const outgoing = view(reader.send, 'send');

  // aedes reads with read() on 'readable', which also emits 'data': a 'data' listener sees every byte.
  socket.on('data', (chunk: Buffer) => incoming(chunk));
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const encoding = typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8';
    outgoing(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk));
    return write(chunk, ...rest);
  }) as Socket['write'];
}
