// The aedes cluster: N aedes nodes on loopback sharing one redis-server that
// this starts on a free port: mqemitter-redis carries each PUBLISH to the other
// nodes (redis pub/sub), aedes-persistence-redis keeps sessions, subscriptions
// and queued messages there, so a client of node B is the same client on node A.
import Redis from 'mqemitter-redis';
import type { AedesOptions } from 'aedes';
import { startBroker, type EmbeddedBroker } from './embedded';
import type { BrokerNode, HopEvent, NodePacketEvent } from './nodes';
import { startRedis, type RedisServer } from './redis';
import type { Packet } from '../mqtt/packet-event';
import { within } from '../mqtt/wait';

/** aedes-persistence-redis ships no types: what aedes needs of it, and the destroy() we call. */
interface RedisPersistence {
  setup(broker: unknown): Promise<void>;
  destroy(): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const persistenceRedis = require('aedes-persistence-redis') as (options: { conn: RedisConnection }) => RedisPersistence;

/** An ioredis connection, as far as we touch it: its errors (redis gone) must have a listener, or ioredis prints them with a stack. */
interface RedisConnection {
  on(event: 'error', listener: (error: Error) => void): unknown;
  duplicate(): RedisConnection;
}

export interface ClusterOptions {
  nodes: number;
  /** Every packet each node sends or receives, tagged with the node. */
  onPacket?: (event: NodePacketEvent) => void;
  /** Every message the nodes put on redis, as a subscriber of ours sees it there. */
  onHop?: (event: HopEvent) => void;
}

export interface Cluster {
  nodes: BrokerNode[];
  redis: RedisServer;
  close(): Promise<void>;
}

/** How long a stopped node's session store stays connected for aedes's last writes. */
const STORE_SETTLE_MS = 300;
/** How long a node's redis connections get to close. */
const CLOSE_MS = 2000;

type Emitter = ReturnType<typeof Redis>;
/** mqemitter-redis re-emits its connections' errors here; its typings leave it out. */
type WithState = Emitter & { state: { on(event: 'error', listener: (error: Error) => void): void }; pubConn: RedisConnection };

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const redis = await startRedis();
  const where = { host: redis.host, port: redis.port };
  // aedes picks a fresh id at each start; the redis observer names nodes by it.
  const labelOf = new Map<string, number>();
  const nodes: BrokerNode[] = [];
  let observer: Emitter | undefined;
  const close = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    if (observer) await within(new Promise<void>((resolve) => observer!.close(() => resolve())), CLOSE_MS);
    await redis.close();
  };
  try {
    for (let index = 0; index < options.nodes; index++) nodes.push(await clusterNode(index, where, labelOf, options.onPacket));
    if (options.onHop) observer = await observeHops(where, labelOf, options.onHop);
  } catch (error) {
    await close();
    throw error;
  }
  return { nodes, redis, close };
}

async function clusterNode(index: number, redis: { host: string; port: number }, labelOf: Map<string, number>, onPacket?: (e: NodePacketEvent) => void): Promise<BrokerNode> {
  const label = String.fromCharCode(65 + index);
  let running: { broker: EmbeddedBroker; persistence: RedisPersistence } | null = null;
  let port = 0;
  let starts = 0;
  const up = async () => {
    const mq = emitter(redis);
    // The session store's own connection, made from the emitter's (same options), so that its errors are ours to hear too.
    const conn = (mq as WithState).pubConn.duplicate();
    conn.on('error', () => undefined);
    const persistence = persistenceRedis({ conn });
    // A new id at each start: aedes-persistence-redis keys queued packets by broker id and counter, and a restarted counter must not meet old keys.
    const id = `node-${label}-${++starts}-${process.pid}`;
    labelOf.set(id, index);
    const broker = await startBroker({ port, onPacket: onPacket && ((e) => onPacket({ ...e, node: index })), shared: { id, mq, persistence, preConnect: connackFirst } });
    port = broker.port;
    running = { broker, persistence };
    return broker;
  };
  const first = await up();
  const stop = async () => {
    const was = running;
    running = null;
    if (!was) return;
    await was.broker.close(); // closes the node's mqemitter-redis too
    // aedes's clean-up of the closed clients still runs store commands after close(): disconnecting at once rejects
    // them, unhandled inside aedes ("Connection is closed."), and that would end the command.
    await new Promise((settle) => setTimeout(settle, STORE_SETTLE_MS));
    await within(was.persistence.destroy().catch(() => undefined), CLOSE_MS);
  };
  return {
    label,
    host: first.host,
    port: first.port,
    url: first.url,
    log: () => '',
    stop,
    restart: async () => {
      await stop();
      await up();
    },
    close: stop,
  };
}

/** aedes's client, as far as the hold below touches it (aedes's typings leave these out). */
type Deliver = (packet: unknown, done: () => void) => void;
interface HeldClient {
  connackSent?: boolean;
  deliver0: Deliver;
  deliverQoS: Deliver;
  conn: { once(event: 'close', listener: () => void): unknown };
  broker: { on(event: 'connackSent', listener: (connack: unknown, client: HeldClient) => void): unknown };
}

/** The brokers whose connackSent we listen to, and each connecting client's release. */
const hooked = new WeakSet<object>();
const releases = new WeakMap<object, () => void>();

/**
 * aedes's preConnect: holds the client's deliveries until its CONNACK is written.
 * aedes's connect restores a persistent session's subscriptions on the message
 * bus before it writes the CONNACK, and writes to a client still connecting; with
 * the redis store a round trip (delWill) lies between, and messages from the other
 * node arriving then went out before the CONNACK [MQTT-3.2.0-1]. MQTT.js then never
 * became connected on that connection (test/integration/cluster-bugs.test.ts).
 * Held messages go out after the CONNACK, in the order they came; if the
 * connection ends first they are let go as aedes's own failed writes are: a
 * persistent session's QoS 1 and 2 messages are already in its stored queue.
 */
function connackFirst(client: Parameters<NonNullable<AedesOptions['preConnect']>>[0], _packet: unknown, done: (error: Error | null, ok: boolean) => void): void {
  const c = client as unknown as HeldClient;
  if (!hooked.has(c.broker)) {
    hooked.add(c.broker);
    c.broker.on('connackSent', (_connack, who) => releases.get(who)?.());
  }
  const held: { packet: unknown; done: () => void; deliver: Deliver }[] = [];
  let open = false;
  const release = (send: boolean) => {
    if (open) return;
    open = true;
    releases.delete(c);
    for (const h of held.splice(0)) (send ? h.deliver(h.packet, h.done) : h.done());
  };
  releases.set(c, () => release(true));
  c.conn.once('close', () => release(false));
  for (const key of ['deliver0', 'deliverQoS'] as const) {
    const deliver = c[key];
    c[key] = (packet, cb) => (open ? deliver(packet, cb) : void held.push({ packet, done: cb, deliver }));
  }
  done(null, true);
}

/**
 * A node's emitter on `redis`. No ready check: mqemitter-redis turns on ioredis's auto-pipelining,
 * which can send its first PSUBSCRIBE before the check's INFO, and ioredis then throws (uncaught)
 * "Connection in subscriber mode" from inside its connect handler.
 */
function emitter(redis: { host: string; port: number }): Emitter {
  return quiet(Redis({ ...redis, enableReadyCheck: false } as { host: string; port: number }));
}

/** An emitter whose connection errors (redis gone for a moment) do not crash the process: ioredis reconnects by itself. */
function quiet(mq: Emitter): Emitter {
  (mq as WithState).state.on('error', () => undefined);
  return mq;
}

/** A third redis subscriber, ours: every message the nodes publish to each other (`#` is redis PSUBSCRIBE *). */
async function observeHops(redis: { host: string; port: number }, labelOf: Map<string, number>, onHop: (e: HopEvent) => void): Promise<Emitter> {
  const mq = emitter(redis);
  await new Promise<void>((resolve) =>
    mq.on(
      '#',
      (message, done) => {
        done();
        const msg = message as unknown as Packet & { brokerId?: string };
        if (msg.cmd !== 'publish' || msg.topic.startsWith('$SYS')) return;
        onHop({ at: performance.now(), from: nodeOf(msg.brokerId, labelOf), to: null, packet: msg });
      },
      () => resolve(),
    ),
  );
  return mq;
}

function nodeOf(brokerId: string | undefined, labelOf: Map<string, number>): number {
  return (brokerId === undefined ? undefined : labelOf.get(brokerId)) ?? -1;
}
