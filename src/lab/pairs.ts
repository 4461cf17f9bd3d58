// Runs the lab's pairs: for each (publish QoS, subscription QoS) a real
// exchange through one broker, either one the lab starts with its tap (aedes,
// or mosquitto behind the tap proxy) or an external broker (then the broker
// lane is derived from the client legs). Across two brokers (an aedes cluster,
// a mosquitto bridge, or --pub-broker/--sub-broker) the publisher is on node A,
// the subscriber on node B, and what crossed between them is recorded too.
import { performance } from 'node:perf_hooks';
import type { BrokerKind } from '../broker/kind';
import type { HopEvent, NodePacketEvent } from '../broker/nodes';
import { start as startBroker, type StartedBroker } from '../broker/start';
import type { ConnectionSettings, ProtocolVersion } from '../mqtt/connection';
import type { FaultSpec } from '../wire/fault';
import type { QoS } from '../mqtt/qos';
import { exchangeIds, runExchange, type ExchangeOptions } from './exchange';
import type { LaneEvent, ProxyLog } from './lanes';
import { brokerDisconnect, type PairRun } from './matrix';
import { buildTimeline, type Across, type Note } from './timeline';
import { within } from '../mqtt/wait';

export interface LabOptions {
  /** An external broker; undefined starts `engine` on a free loopback port. */
  url?: string;
  /** External brokers, one per leg (--pub-broker, --sub-broker): the publisher's and the subscriber's; instead of url. */
  pubUrl?: string;
  subUrl?: string;
  /** aedes-cluster: how many nodes to start (the pairs use A and B). */
  nodes?: number;
  /** mosquitto-bridge: the bridge's QoS. */
  bridgeQos?: QoS;
  /** The broker the lab starts and taps when no url is given; aedes when left out. */
  engine?: BrokerKind;
  /** Extra mosquitto.conf lines for the mosquitto the lab starts (e.g. `max_qos 1`). */
  mosquittoConfig?: string[];
  protocol: ProtocolVersion;
  /** Credentials, TLS and keepalive of every client the lab connects. */
  connection?: ConnectionSettings;
  /** How long to wait for each answer of the broker's, in ms; LAB_ACK_TIMEOUT_MS when left out. */
  ackTimeoutMs?: number;
  pubs: readonly QoS[];
  subs: readonly QoS[];
  /** Each pair publishes to `<topic>/pub<P>-sub<S>`. */
  topic: string;
  message: string;
  /** --fault: each pair's publisher goes through a fault proxy and reconnects after a cut. */
  fault?: FaultSpec;
  /** A pair's protocol error in the words the tools print; its own message when left out. */
  words?: ExchangeOptions['words'];
  /** false: both clients ask the broker to keep their sessions (clean=0); true when left out. */
  clean?: boolean;
}

/** The lab's --ack-timeout default: long enough for any loopback broker, short enough that a silent one ends the lab soon. */
export const LAB_ACK_TIMEOUT_MS = 5000;

export interface LabPair extends PairRun {
  /** The broker's answer that never came within the ack timeout, e.g. `PUBACK`; null when every answer came. */
  timedOut: string | null;
  clients: { publisherId: string; subscriberId: string };
  /** What the fault proxy did on the publisher's connection; null without --fault. */
  proxy: ProxyLog | null;
}

export interface LabSession {
  /** e.g. "embedded aedes broker on mqtt://127.0.0.1:40123". */
  brokerName: string;
  /** The broker the lab started and taps; null for an external broker. */
  engine: BrokerKind | null;
  /** The publisher's broker (node A across two). */
  url: string;
  /** The subscriber's broker when it is another: node B. */
  subUrl?: string;
  /** performance.now() when the lab started: time 0 of the trace. */
  start: number;
}

/** The broker tap's DISCONNECT record can trail the client's end(); this bounds the wait for it. */
const TAP_SETTLE_MS = 1000;

/**
 * Runs the pairs in order; once `stop` is aborted no further pair starts (the one in flight ends within its bounds).
 * `onPacket` sees each packet of the pair in flight as a client or the tap logs it (the web page's live ticker).
 */
export async function runPairs(options: LabOptions, onStart: (session: LabSession) => void, onPair: (pair: LabPair) => void, stop?: AbortSignal, onPacket?: (event: LaneEvent) => void): Promise<LabPair[]> {
  const start = performance.now();
  let tapped: LaneEvent[] = [];
  let hops: HopEvent[] = [];
  let waiting: { clientId: string; seen: () => void }[] = [];
  let inFlight = new Set<string>(); // the pair in flight's client ids: the tap's packets of its clients go to onPacket
  const engine = options.url || options.pubUrl ? null : (options.engine ?? 'aedes');
  const started = engine
    ? await startBroker(engine, {
        onPacket: (event: NodePacketEvent) => {
          tapped.push({ ...event, lane: 'broker' });
          if (inFlight.has(event.clientId)) onPacket?.({ ...event, lane: 'broker' });
          if (event.direction === 'receive' && event.packet.cmd === 'disconnect') {
            for (const w of waiting.filter((w) => w.clientId === event.clientId)) w.seen();
          }
        },
        onHop: (event) => hops.push(event),
        nodes: options.nodes,
        bridgeQos: options.bridgeQos,
        config: options.mosquittoConfig,
      })
    : null;
  const [nodeA, nodeB] = started?.nodes ?? [];
  const url = nodeA?.url ?? started?.url ?? options.pubUrl ?? options.url!;
  const subUrl = nodeB?.url ?? options.subUrl;
  const brokerName = sessionName(started, url, subUrl);
  const ackTimeoutMs = options.ackTimeoutMs ?? LAB_ACK_TIMEOUT_MS;
  const pairs: LabPair[] = [];
  try {
    onStart({ brokerName, engine, url, ...(subUrl && { subUrl }), start });
    for (const publishQos of options.pubs) {
      for (const subscribeQos of options.subs) {
        if (stop?.aborted) return pairs;
        const idPrefix = `qos-lab-${process.pid}-p${publishQos}s${subscribeQos}`;
        const clients = exchangeIds(idPrefix);
        inFlight = new Set([clients.publisherId, clients.subscriberId]);
        tapped = [];
        hops = [];
        const topic = `${options.topic}/pub${publishQos}-sub${subscribeQos}`;
        const result = await runExchange({ url, subUrl, publishQos, subscribeQos, topic, message: options.message, idPrefix, protocol: options.protocol, connection: options.connection, fault: options.fault, ackTimeoutMs, words: options.words, clean: options.clean }, onPacket);
        if (started) {
          // Wait until the tap has seen the DISCONNECT of each client that sent one.
          const pending = disconnecting(result.events, clients).filter((id) => !tapped.some((e) => e.clientId === id && e.packet.cmd === 'disconnect'));
          await within(Promise.all(pending.map((clientId) => new Promise<void>((seen) => waiting.push({ clientId, seen })))), TAP_SETTLE_MS);
          waiting = [];
        }
        // Across two nodes each client's connection is on its own node: the other node's tap never sees it.
        const mine = (e: LaneEvent) => (e.clientId === clients.publisherId && (e.node ?? 0) === 0) || (e.clientId === clients.subscriberId && (e.node ?? 0) === (subUrl && started ? 1 : 0));
        const events = [...result.events, ...tapped.filter(mine)];
        const notes: Note[] = result.handovers.map((h) => ({
          at: h.at,
          lane: 'subscriber',
          text: `MQTT.js hands the message to the application (QoS ${h.qos})${h.secondCopy ? `: a second copy${h.qos === 1 ? ' (QoS 1 is at least once)' : ''}` : ''}`,
        }));
        const timeline = buildTimeline(events, clients, notes, result.proxy, subUrl ? acrossOf(started, hops, topic) : undefined);
        const problem = result.problem === null ? null : (brokerDisconnect(timeline.arrows) ?? result.problem);
        const pair: LabPair = {
          publishQos,
          subscribeQos,
          granted: result.granted,
          timeline,
          appAt: result.delivery?.at ?? null,
          problem,
          timedOut: result.timedOut,
          clients,
          proxy: result.proxy,
        };
        pairs.push(pair);
        onPair(pair);
      }
    }
  } finally {
    await started?.close();
  }
  return pairs;
}

/** The clients of a pair that sent a DISCONNECT, by client id. */
function disconnecting(events: readonly LaneEvent[], clients: LabPair['clients']): string[] {
  return (['publisher', 'subscriber'] as const)
    .filter((leg) => events.some((e) => e.lane === leg && e.direction === 'send' && e.packet.cmd === 'disconnect'))
    .map((leg) => (leg === 'publisher' ? clients.publisherId : clients.subscriberId));
}

/** The heading's broker: one, or the nodes each leg is on and how they are joined. */
function sessionName(started: StartedBroker | null, url: string, subUrl: string | undefined): string {
  if (!started) return subUrl ? `node A ${url} (publisher) and node B ${subUrl} (subscriber)` : url;
  if (started.nodes) return `${started.name}: node A ${url} (publisher), node B ${subUrl} (subscriber); ${started.hop?.text ?? ''}`;
  return started.engine === 'aedes' ? `embedded aedes broker on ${url}` : `${started.name} behind the tap proxy on ${url}`;
}

/** What the pair's timeline shows between A and B: the hop's packets on the pair's topic (the bridge's pings are not the message's). */
function acrossOf(started: StartedBroker | null, hops: readonly HopEvent[], topic: string): Across {
  const via = started?.hop?.via;
  const seen = hops.filter((h) => (h.from === 0 || h.from === 1) && h.packet.cmd !== 'pingreq' && h.packet.cmd !== 'pingresp' && (h.packet.cmd !== 'publish' || h.packet.topic === topic));
  return {
    nodes: { publisher: 'A', subscriber: 'B' },
    hopSeenBy: via === 'bridge' ? 'bridge tap' : via === 'redis' ? 'redis' : null,
    hops: seen.map((h) => ({ at: h.at, toward: h.from === 0 ? 'subscriber-node' : 'publisher-node', packet: h.packet, broadcast: h.to === null })),
    ...(started?.hop?.qos !== undefined && { bridgeQos: started.hop.qos }),
  };
}
