// A tap for a broker we cannot instrument (mosquitto): a loopback TCP proxy in
// front of it. Every byte is relayed unchanged; the client-facing socket is
// tapped exactly as the embedded broker's sockets are, so the packet view is
// the same, seen one hop before the broker.
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import { closeServer, listen, type Address, type Endpoint } from './listen';
import { tapSocket, type BrokerPacketListener } from './tap';

export interface ProxyOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  upstream: Address;
  onPacket: BrokerPacketListener;
}

export type TapProxy = Endpoint;

export async function startTapProxy(options: ProxyOptions): Promise<TapProxy> {
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A reset on one side just ends the pair; the relay never crashes the process.
    socket.on('error', () => undefined);
  };
  const server: Server = createServer((client) => {
    track(client);
    client.pause();
    const broker = tcpConnect(options.upstream.port, options.upstream.host);
    track(broker);
    tapSocket(client, options.onPacket);
    broker.once('connect', () => {
      // pipe() writes with client.write (tapped as 'send') and reads client 'data' (tapped as 'receive').
      client.pipe(broker);
      broker.pipe(client);
      client.resume();
    });
    broker.on('close', () => client.destroy());
    client.on('close', () => broker.destroy());
  });
  const bound = await listen(server, host, options.port ?? 0);
  return {
    host,
    ...bound,
    close: () => closeServer(server, sockets),
  };
}
