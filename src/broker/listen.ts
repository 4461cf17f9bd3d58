// Listening on loopback and naming the result, for every server we run (the
// embedded broker, the tap proxy, the fault proxy) and every broker we start (mosquitto).
import type { AddressInfo, Server, Socket } from 'node:net';

/** Where something listens, on loopback. */
export interface Address {
  host: string;
  port: number;
}

/** A server or broker we run: where it listens, the URL clients use, how to stop it. */
export interface Endpoint extends Address {
  url: string;
  close(): Promise<void>;
}

/** Listens (port 0 picks a free one); resolves with the port and the mqtt:// URL clients use. */
export async function listen(server: Server, host: string, port: number): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return { port: bound, url: mqttUrl(host, bound) };
}

/** `mqtt://host:port`, with an IPv6 address in brackets. */
export function mqttUrl(host: string, port: number): string {
  return `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Drops every open connection, then stops listening: server.close() alone waits for clients to leave. */
export async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
