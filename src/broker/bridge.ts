// The mosquitto bridge: two mosquitto brokers on loopback, B bridged to A
// (mosquitto.conf(5): `connection`, `address`, `topic # both <qos>`). The
// bridge is B's own MQTT client of A; it reaches A through our relay, so every
// packet it carries is read on the way (the hop is observed, not derived).
import { startMosquitto, type MosquittoBroker } from './mosquitto';
import type { BrokerNode, HopEvent, NodePacketEvent } from './nodes';
import type { QoS } from '../mqtt/qos';
import { startRelay, type Relay } from '../wire/relay';
import { within } from '../mqtt/wait';

export interface BridgeOptions {
  /** The bridge's subscription QoS on A, and the QoS B forwards at: the third term in MIN(). */
  qos: QoS;
  /** Every packet each node sends or receives to its clients; clients then connect through a tap proxy per node. */
  onPacket?: (event: NodePacketEvent) => void;
  /** Every packet on the bridge connection. */
  onHop?: (event: HopEvent) => void;
}

export interface Bridge {
  nodes: BrokerNode[];
  /** mosquitto's version line, e.g. `mosquitto 2.0.11`. */
  name: string;
  /** The bridge's client id on A. */
  clientId: string;
  /** Resolves once the bridge (again) holds its subscription on A: a SUBACK crossed the relay; false if not within `ms`. */
  connected(ms: number): Promise<boolean>;
  close(): Promise<void>;
}

/** B's MQTT client id on A. */
export const BRIDGE_CLIENT_ID = 'lab-bridge-b-to-a';
/** How long the bridge may take to connect and subscribe at start. */
const BRIDGE_READY_MS = 10_000;

/**
 * Each packet goes out at once: with Nagle's algorithm mosquitto holds a PUBLISH
 * until the previous small write is acknowledged (~40 ms of delayed ACK), which
 * the lab would show as the bridge's cost. Not for the bridge's own socket: 2.0.11 has no option for it.
 */
const NO_DELAY = ['set_tcp_nodelay true'];

/** B's bridge section: to A through `relay`, every topic both ways at `qos`, its session kept on A across reconnects. */
function bridgeConfig(relay: Relay, qos: QoS): string[] {
  return [
    'connection lab-bridge',
    `address ${relay.host}:${relay.port}`,
    `topic # both ${qos}`,
    `remote_clientid ${BRIDGE_CLIENT_ID}`,
    'bridge_protocol_version mqttv311',
    // A keeps the bridge's subscription and queues its messages while B is away (mosquitto's default; said here to be seen).
    'cleansession false',
    // No $SYS/broker/connection/... state messages: they would cross the bridge as packets of their own.
    'notifications false',
    // Reconnect after 1 s (the default backs off to 30 s, longer than a chaos run's outage).
    'restart_timeout 1',
    'start_type automatic',
  ];
}

export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const waiters: (() => void)[] = [];
  const onBridgePacket = (event: NodePacketEvent) => {
    options.onHop?.({ at: event.at, from: event.direction === 'send' ? 0 : 1, to: event.direction === 'send' ? 1 : 0, packet: event.packet });
    if (event.direction === 'send' && event.packet.cmd === 'suback') for (const w of waiters.splice(0)) w();
  };
  const parts: { close(): Promise<void> }[] = [];
  const close = async () => {
    for (const p of parts.reverse()) await p.close();
  };
  try {
    const a = await node(0, NO_DELAY, options.onPacket);
    parts.push(a);
    const link = await startRelay({ upstream: { host: a.host, port: a.mosquittoPort }, onPacket: onBridgePacket });
    parts.unshift(link); // closed after B, before A
    const suback = new Promise<void>((resolve) => waiters.push(resolve));
    const b = await node(1, [...NO_DELAY, ...bridgeConfig(link, options.qos)], options.onPacket);
    parts.push(b);
    if ((await within(suback, BRIDGE_READY_MS)) === null) throw new Error(`mosquitto B's bridge did not subscribe on A within ${BRIDGE_READY_MS / 1000} s: ${b.log().trim().split('\n').at(-1) ?? ''}`);
    const version = /mosquitto version (\S+)/.exec(a.log())?.[1] ?? '';
    return {
      nodes: [a, b],
      name: `mosquitto ${version}`.trim(),
      clientId: BRIDGE_CLIENT_ID,
      connected: async (ms) => (await within(new Promise<void>((resolve) => waiters.push(resolve)), ms)) !== null,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

type MosquittoNode = BrokerNode & { mosquittoPort: number };

/** One mosquitto, with a tap proxy in front of it when packets are wanted; restart() starts a new process on the same port and config. */
async function node(index: number, config: string[], onPacket?: (e: NodePacketEvent) => void): Promise<MosquittoNode> {
  let mosquitto: MosquittoBroker | null = await startMosquitto({ config });
  const port = mosquitto.port;
  let lastLog = '';
  const proxy = onPacket ? await startRelay({ upstream: { host: mosquitto.host, port }, onPacket: (e) => onPacket({ ...e, node: index }) }).catch(async (error) => {
    await mosquitto?.close();
    throw error;
  }) : null;
  const front = proxy ?? mosquitto;
  const stop = async () => {
    const was = mosquitto;
    mosquitto = null;
    if (!was) return;
    lastLog += was.log();
    await was.close();
  };
  return {
    label: String.fromCharCode(65 + index),
    host: front.host,
    port: front.port,
    url: front.url,
    mosquittoPort: port,
    log: () => lastLog + (mosquitto?.log() ?? ''),
    stop,
    restart: async () => {
      await stop();
      mosquitto = await startMosquitto({ port, config });
    },
    close: async () => {
      await proxy?.close();
      await stop();
    },
  };
}
