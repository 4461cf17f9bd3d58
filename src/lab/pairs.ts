// Runs the lab's pairs: for each (publish QoS, subscription QoS) a real
// exchange through one broker, either our embedded aedes with its tap or an
// external broker (then the broker lane is derived from the client legs).
import { performance } from 'node:perf_hooks';
import { startBroker } from '../broker/embedded';
import type { ProtocolVersion } from '../mqtt/connection';
import type { FaultSpec } from '../faults/fault-spec';
import type { BrokerPacketEvent } from '../mqtt/packet-event';
import type { QoS } from '../mqtt/qos';
import { exchangeIds, runExchange, type LegEvent } from './exchange';
import { brokerDisconnect, type PairRun } from './matrix';
import { buildTimeline, type Note, type ProxyLog } from './timeline';
import { within } from './wait';

export interface LabOptions {
  /** An external broker; undefined starts the embedded aedes broker on a free loopback port. */
  url?: string;
  protocol: ProtocolVersion;
  pubs: readonly QoS[];
  subs: readonly QoS[];
  /** Each pair publishes to `<topic>/pub<P>-sub<S>`. */
  topic: string;
  message: string;
  /** --fault: each pair's publisher goes through a fault proxy and reconnects after a cut. */
  fault?: FaultSpec;
}

export interface LabPair extends PairRun {
  /** Every packet record of the pair: both clients', and the broker tap's when there is one. */
  events: LegEvent[];
  clients: { publisherId: string; subscriberId: string };
  /** What the fault proxy did on the publisher's connection; null without --fault. */
  proxy: ProxyLog | null;
}

export interface LabSession {
  /** e.g. "embedded aedes broker on mqtt://127.0.0.1:40123". */
  brokerName: string;
  url: string;
  /** performance.now() when the lab started: time 0 of the trace. */
  start: number;
}

/** The broker tap's DISCONNECT record can trail the client's end(); this bounds the wait for it. */
const TAP_SETTLE_MS = 1000;

export async function runPairs(options: LabOptions, onStart: (session: LabSession) => void, onPair: (pair: LabPair) => void): Promise<LabPair[]> {
  const start = performance.now();
  let tapped: LegEvent[] = [];
  let waiting: { clientId: string; seen: () => void }[] = [];
  const embedded = options.url
    ? null
    : await startBroker({
        port: 0,
        onPacket: (event: BrokerPacketEvent) => {
          tapped.push({ ...event, leg: 'broker' });
          if (event.direction === 'receive' && event.packet.cmd === 'disconnect') {
            for (const w of waiting.filter((w) => w.clientId === event.clientId)) w.seen();
          }
        },
      });
  const url = embedded?.url ?? options.url!;
  onStart({ brokerName: embedded ? `embedded aedes broker on ${url}` : url, url, start });
  const pairs: LabPair[] = [];
  try {
    for (const publishQos of options.pubs) {
      for (const subscribeQos of options.subs) {
        const idPrefix = `qos-lab-${process.pid}-p${publishQos}s${subscribeQos}`;
        const clients = exchangeIds(idPrefix);
        tapped = [];
        const topic = `${options.topic}/pub${publishQos}-sub${subscribeQos}`;
        const result = await runExchange({ url, publishQos, subscribeQos, topic, message: options.message, idPrefix, protocol: options.protocol, fault: options.fault });
        if (embedded) {
          // Wait until the tap has seen the DISCONNECT of each client that sent one.
          const pending = disconnecting(result.events, clients).filter((id) => !tapped.some((e) => e.clientId === id && e.packet.cmd === 'disconnect'));
          await within(Promise.all(pending.map((clientId) => new Promise<void>((seen) => waiting.push({ clientId, seen })))), TAP_SETTLE_MS);
          waiting = [];
        }
        const events = [...result.events, ...tapped.filter((e) => e.clientId === clients.publisherId || e.clientId === clients.subscriberId)];
        const notes: Note[] = [];
        const { delivery } = result;
        if (delivery) notes.push({ at: delivery.at, lane: 'subscriber', text: `MQTT.js hands the message to the application (QoS ${delivery.qos})` });
        const timeline = buildTimeline(events, clients, notes, result.proxy);
        const problem = result.problem === null ? null : (brokerDisconnect(timeline.arrows) ?? result.problem);
        const pair: LabPair = { publishQos, subscribeQos, granted: result.granted, timeline, appAt: result.delivery?.at ?? null, problem, events, clients, proxy: result.proxy };
        pairs.push(pair);
        onPair(pair);
      }
    }
  } finally {
    await embedded?.close();
  }
  return pairs;
}

/** The clients of a pair that sent a DISCONNECT, by client id. */
function disconnecting(events: readonly LegEvent[], clients: LabPair['clients']): string[] {
  return (['publisher', 'subscriber'] as const)
    .filter((leg) => events.some((e) => e.leg === leg && e.direction === 'send' && e.packet.cmd === 'disconnect'))
    .map((leg) => (leg === 'publisher' ? clients.publisherId : clients.subscriberId));
}
