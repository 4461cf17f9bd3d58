// An in-process aedes broker on loopback, with a tap on every connection.
// aedes speaks MQTT 3.1 and 3.1.1; a CONNECT for MQTT 5 is refused with
// CONNACK code 1 (unacceptable protocol version). Its session store is aedes's
// memory persistence with the fixes a persistent session needs (QoS 2 exactly
// once, DUP=1 on redelivery, the stored queue before new messages): see
// ./aedes-persistence.ts.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { closeServer, listen, type Endpoint } from './listen';
import { Aedes, type AedesOptions } from 'aedes';
import { sessionStore } from './aedes-persistence';
import { tapSocket, type BrokerPacketListener } from '../wire/tap';

export interface BrokerOptions {
  host?: string;
  /** 0 picks a free port (tests do this). */
  port?: number;
  onPacket?: BrokerPacketListener;
  /** When given, CONNECT must carry exactly these; anything else gets CONNACK 4 (bad user name or password). */
  credentials?: Credentials;
  /** Topic filters this broker refuses (SUBACK 0x80), to show what a refusal looks like. */
  refuse?: (filter: string) => boolean;
  /** A cluster node's shared parts (src/broker/cluster.ts): the message bus and the session store; in memory when absent. */
  shared?: Pick<AedesOptions, 'id' | 'mq' | 'persistence' | 'preConnect'>;
}

export interface Credentials {
  username: string;
  password: string;
}

export type EmbeddedBroker = Endpoint;

export async function startBroker(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const { credentials } = options;
  const { refuse } = options;
  const aedes = await Aedes.createBroker({
    // A cluster node brings its own store (redis) and message bus instead; the session store's
    // authorizeForward works only with its own persistence, so it goes with it.
    ...(options.shared?.persistence === undefined && sessionStore()),
    ...options.shared,
    ...(credentials && {
      authenticate: (_client, username, password, done) => {
        if (username === credentials.username && password !== undefined && safeEqual(password, credentials.password)) return done(null, true);
        done(Object.assign(new Error('bad user name or password'), { returnCode: 4 as const }), false);
      },
    }),
    // aedes answers a subscription passed back as null with SUBACK 0x80.
    ...(refuse && { authorizeSubscribe: (_client, sub, done) => done(null, refuse(sub.topic) ? null : sub) }),
  });
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
  let bound: { port: number; url: string };
  try {
    bound = await listen(server, host, options.port ?? 1883);
  } catch (error) {
    // aedes holds timers open: without this a failed listen (port in use) never lets the process exit.
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw error;
  }
  return {
    host,
    ...bound,
    close: async () => {
      await closeServer(server, sockets);
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

/** Compares a password without leaking its length or prefix through timing. */
function safeEqual(given: Buffer, expected: string): boolean {
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}
