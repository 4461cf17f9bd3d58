// The one way anything starts a broker: the embedded aedes (its socket tap on
// every connection) or Debian's mosquitto (the relay in front of it, when
// packets are wanted: the same bytes, read on the way); or several of them:
// an aedes cluster over redis, two mosquittos joined by a bridge.
import { startBridge } from './bridge';
import { startCluster } from './cluster';
import { startBroker, type Credentials } from './embedded';
import { DEFAULT_BRIDGE_QOS, DEFAULT_NODES, type BrokerKind } from './kind';
import type { BrokerNode, Hop, HopEvent, NodePacketEvent } from './nodes';
import type { QoS } from '../mqtt/qos';
import { startMosquitto, type MosquittoBroker } from './mosquitto';
import type { BrokerPacketListener } from '../wire/tap';
import { startRelay } from '../wire/relay';
import type { Endpoint } from './listen';

export type { BrokerKind };

export interface StartOptions {
  /** Loopback (127.0.0.1) unless said. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Every packet the broker sends or receives (tagged with its node on a cluster or bridge); none taken when absent (mosquitto then runs without the proxy). */
  onPacket?: (event: NodePacketEvent) => void;
  /** aedes-cluster and mosquitto-bridge: what crosses between the nodes, as seen on redis or on the bridge's connection. */
  onHop?: (event: HopEvent) => void;
  /** aedes-cluster: how many nodes (DEFAULT_NODES unless said). */
  nodes?: number;
  /** mosquitto-bridge: the bridge's QoS (1 unless said). */
  bridgeQos?: QoS;
  /** When given, clients must log in with exactly these. */
  credentials?: Credentials;
  /** mosquitto.conf lines (aedes has no config and ignores them). */
  config?: string[];
}

export interface StartedBroker extends Endpoint {
  engine: BrokerKind;
  /** `aedes (embedded)` or `mosquitto 2.0.11`, for headings. */
  name: string;
  /** mosquitto's own URL when the tap proxy stands in front of it (url is the proxy's: clients connect there). */
  upstream?: string;
  /** What the broker logged so far (mosquitto); empty for aedes, which logs nothing. */
  log(): string;
  /** The folder holding mosquitto's generated config; absent for aedes. */
  dir?: string;
  /** aedes-cluster and mosquitto-bridge: the nodes, A first (url is A's); absent for one broker. */
  nodes?: BrokerNode[];
  /** How those nodes pass messages on. */
  hop?: Hop;
}


export async function start(engine: BrokerKind, options: StartOptions = {}): Promise<StartedBroker> {
  const { onPacket, onHop, nodes, bridgeQos, config = [], ...where } = options;
  if (engine === 'aedes-cluster' || engine === 'mosquitto-bridge') {
    // Several brokers on free loopback ports: the caller's port and credentials are for one broker.
    if (where.port || where.credentials) throw new Error(`--engine ${engine} starts its nodes on free loopback ports, without credentials: --port and --username are for one broker`);
    return engine === 'aedes-cluster' ? clusterOf(nodes ?? DEFAULT_NODES, onPacket, onHop) : bridgeOf(bridgeQos ?? DEFAULT_BRIDGE_QOS, onPacket, onHop);
  }
  if (engine === 'aedes') {
    const broker = await startBroker({ ...where, port: where.port ?? 0, onPacket });
    return { engine, name: 'aedes (embedded)', ...broker, log: () => '' };
  }
  // Behind the tap, mosquitto itself stays on a free loopback port: only the proxy listens where the caller asked.
  const mosquitto = onPacket
    ? await tapped(await startMosquitto({ credentials: where.credentials, config }), where, onPacket)
    : await startMosquitto({ ...where, config });
  const version = /mosquitto version (\S+)/.exec(mosquitto.log())?.[1] ?? '';
  return { engine, name: `mosquitto ${version}`.trim(), ...mosquitto };
}

/** mosquitto (on a free port) behind the tap proxy, which listens where the caller asked. */
async function tapped(mosquitto: MosquittoBroker, where: { host?: string; port?: number }, onPacket: BrokerPacketListener): Promise<MosquittoBroker & { upstream: string }> {
  try {
    const proxy = await startRelay({ host: where.host, port: where.port, upstream: mosquitto, onPacket });
    return {
      ...mosquitto,
      host: proxy.host,
      port: proxy.port,
      url: proxy.url,
      upstream: mosquitto.url,
      close: async () => {
        await proxy.close();
        await mosquitto.close();
      },
    };
  } catch (error) {
    await mosquitto.close();
    throw error;
  }
}

async function clusterOf(count: number, onPacket: StartOptions['onPacket'], onHop: StartOptions['onHop']): Promise<StartedBroker> {
  const cluster = await startCluster({ nodes: count, onPacket, onHop });
  const a = cluster.nodes[0]!;
  return {
    engine: 'aedes-cluster',
    name: `aedes cluster (${count} nodes, ${cluster.redis.name})`,
    host: a.host,
    port: a.port,
    url: a.url,
    log: cluster.redis.log,
    close: cluster.close,
    nodes: cluster.nodes,
    hop: { via: 'redis', text: `redis pub/sub between the nodes${onHop ? ', seen by a redis subscriber of ours' : ''}` },
  };
}

async function bridgeOf(qos: QoS, onPacket: StartOptions['onPacket'], onHop: StartOptions['onHop']): Promise<StartedBroker> {
  const bridge = await startBridge({ qos, onPacket, onHop });
  const a = bridge.nodes[0]!;
  return {
    engine: 'mosquitto-bridge',
    name: `${bridge.name} bridge`,
    host: a.host,
    port: a.port,
    url: a.url,
    log: () => bridge.nodes.map((n) => n.log()).join(''),
    close: bridge.close,
    nodes: bridge.nodes,
    hop: { via: 'bridge', qos, text: `a bridge from B to A at QoS ${qos}, through a tap relay` },
  };
}
