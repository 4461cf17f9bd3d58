// An in-process aedes broker on loopback, with a tap on every connection.
// aedes speaks MQTT 3.1 and 3.1.1; a CONNECT for MQTT 5 is refused with
// CONNACK code 1 (unacceptable protocol version).
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { tapSocket, type BrokerPacketListener } from './tap';

export interface BrokerOptions {
  host?: string;
  /** 0 picks a free port (tests do this). */
  port?: number;
  onPacket?: BrokerPacketListener;
}

export interface EmbeddedBroker {
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startBroker(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    // Each packet goes out at once: with Nagle's algorithm a PUBLISH can wait ~40 ms for the
    // ACK of the previous segment (delayed ACK), which the lab's timings would show as QoS cost.
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    if (options.onPacket) tapSocket(socket, options.onPacket);
    aedes.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 1883, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    url: `mqtt://${shownHost}:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
