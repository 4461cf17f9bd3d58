// An in-process aedes broker on loopback, with a tap on every connection.
// aedes speaks MQTT 3.1 and 3.1.1; a CONNECT for MQTT 5 is refused with
// CONNACK code 1 (unacceptable protocol version). Its session store is aedes's
// memory persistence with one fix, so QoS 2 to a persistent subscriber is
// exactly once (pubrelsByPacketId below).
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { closeServer, listen, type Endpoint } from './listen';
import { Aedes, type AedesOptions } from 'aedes';
import memoryPersistence from 'aedes-persistence';
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
  shared?: Pick<AedesOptions, 'id' | 'mq' | 'persistence'>;
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
    persistence: pubrelsByPacketId(),
    // A cluster node brings its own store (redis) and message bus instead.
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

/** The fields aedes and its memory store tell a stored outgoing packet apart by. */
interface OutgoingPacket {
  cmd: string;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
}
/** What aedes 1.x calls (without a callback; the package's types still show one) to store a packet's new state. */
type OutgoingUpdate = (client: unknown, packet: OutgoingPacket) => Promise<void>;

/** Not a broker id (those are UUIDs): the brokerId of the PUBRELs we store, each with its packet id as brokerCounter. */
const PUBREL = 'pubrel';

/**
 * aedes's default memory persistence, with each stored PUBREL known by its
 * packet id. On PUBREC aedes stores `{ cmd: 'pubrel', messageId }` through
 * outgoingUpdate, with no brokerId or brokerCounter. The store walks the
 * client's queue and takes the first entry with the packet's brokerId and
 * brokerCounter as the same message; a PUBREL already stored (awaiting its
 * PUBCOMP) has both undefined too, so the new PUBREL renamed that one instead
 * of replacing its own PUBLISH. Two PUBRECs read together then sent the second
 * id's PUBREL twice and the first's never (that message was lost), and the
 * PUBLISH left in the queue was sent again on the next resume (duplicated).
 * Seen in aedes 1.2.0 with aedes-persistence 11.0.0;
 * test/integration/aedes-exactly-once.test.ts shows it, and fails once aedes
 * no longer does it (then this can go).
 */
function pubrelsByPacketId(): ReturnType<typeof memoryPersistence> {
  const store = memoryPersistence();
  const updatable = store as unknown as { outgoingUpdate: OutgoingUpdate };
  const update = updatable.outgoingUpdate.bind(store);
  // A copy is stored: aedes writes its own PUBREL object to the wire, unchanged.
  updatable.outgoingUpdate = (client, packet) =>
    update(client, packet.cmd === 'pubrel' && packet.brokerId === undefined ? { ...packet, brokerId: PUBREL, brokerCounter: packet.messageId } : packet);
  return store;
}

/** Compares a password without leaking its length or prefix through timing. */
function safeEqual(given: Buffer, expected: string): boolean {
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}
