// What every question of the probe is handed: the recorder in front of the
// broker, the sizes of the battery, its bounds, and a way to make clients.
import type { MqttClient } from 'mqtt';
import { connect, type Connection, type ConnectionSettings, type ProtocolVersion } from '../mqtt/connection';
import { arrivalWatch } from '../chaos/chaos';
import { within, type Limits } from '../mqtt/wait';
import { merged, QUESTIONS, type Answer, type QuestionId, type Verdict } from './answer';
import type { Packet } from '../mqtt/packet-event';
import type { QoS } from '../mqtt/qos';
import type { ProbeRecord, Recorder } from './recorder';

/** How much traffic each question sends: the default battery, or --quick's. */
export interface ProbeSizes {
  /** QoS 1 messages published to an offline persistent session, to find its queue limit. */
  offlineFill: number;
  /** QoS 1 messages burst to a subscriber that acknowledges nothing until the burst is over. */
  burst: number;
  /** Messages per QoS level in the chaos run, at `chaosRate` per second, cut every `cut` ms. */
  chaosCount: number;
  chaosRate: number;
  cut: { minMs: number; maxMs: number };
  /** Messages per QoS level for the ordering check. */
  order: number;
  /** MQTT 5: how long the probe waits past a 1 s session expiry before it looks again. */
  expiryWaitMs: number;
}

export const SIZES: ProbeSizes = { offlineFill: 1500, burst: 2000, chaosCount: 1500, chaosRate: 1000, cut: { minMs: 200, maxMs: 500 }, order: 2000, expiryWaitMs: 2500 };
export const QUICK_SIZES: ProbeSizes = { offlineFill: 200, burst: 300, chaosCount: 200, chaosRate: 500, cut: { minMs: 100, maxMs: 250 }, order: 300, expiryWaitMs: 2000 };

export interface ProbeLimits extends Limits {
  /** After traffic stops, how long nothing must arrive before the probe takes it that nothing more is coming. */
  quietMs: number;
  /** A numbered publisher with no acknowledgement for this long is stuck (the chaos run's bound too). */
  stallMs: number;
}

export const PROBE_LIMITS: ProbeLimits = { answerMs: 5000, quietMs: 1000, stallMs: 5000 };

export interface Probe {
  rec: Recorder;
  /** The broker as errors and the card name it. */
  brokerName: string;
  /** Unique per run: client ids and topics start with it, so runs against one broker never meet. */
  run: string;
  /** -u/-P and -k: given to every client the probe makes, the hand-made CONNECTs too. */
  connection: ConnectionSettings;
  sizes: ProbeSizes;
  limits: ProbeLimits;
  /** The broker accepted an MQTT 5 CONNECT (the versions question says). */
  v5: boolean;
  /** The CONNACK of that MQTT 5 CONNECT: its Maximum QoS, Retain Available. */
  v5Connack: ProbeRecord | null;
  /** Publish QoS levels the broker would not take (the lab's pairs saw it close the publisher's connection unanswered); later questions leave them out. */
  refusedQos: Set<QoS>;
  /** Across two brokers (publishers on node A, subscribers on node B): what joins them; null on one broker. */
  across: Across | null;
  /** The offline or burst question saw the broker drop messages it had acknowledged once this many waited: a queue limit (null: none found). */
  queueLimit: number | null;
}

export interface Across {
  /** The bridge's QoS: a third term in the matrix's MIN(); absent for a cluster, or brokers the probe did not start. */
  bridgeQos?: QoS;
  /** The probe started the nodes, so it knows how they are joined; --pub-broker/--sub-broker name brokers joined somehow (or not). */
  known: boolean;
}

/** A role ending in `-sub` is a subscriber's: node B across two brokers; every other client goes to node A. */
export function urlOf(p: Probe, role: string): string {
  return role.endsWith('-sub') ? p.rec.subUrl : p.rec.url;
}

export interface ClientOptions {
  clean?: boolean;
  protocol?: ProtocolVersion;
  sessionExpiry?: number;
  prepare?: (client: MqttClient) => void;
}

/** A client through the recorder; `role` ends in `-pub` or `-sub` so the trace names its leg (and, across two brokers, its node). */
export function client(p: Probe, role: string, options: ClientOptions = {}): Promise<Connection> {
  return connect(
    {
      ...p.connection,
      url: urlOf(p, role),
      clientId: `${p.run}-${role}`,
      clean: options.clean ?? true,
      protocol: options.protocol ?? 4,
      ...(options.sessionExpiry !== undefined && { sessionExpiry: options.sessionExpiry }),
      connectTimeoutMs: p.limits.answerMs,
      brokerName: p.brokerName,
    },
    () => undefined, // the recorder sees every packet; the client's own view is not needed
    options.prepare,
  );
}

export function topic(p: Probe, ...levels: string[]): string {
  return ['probe', p.run, ...levels].join('/');
}

/** Evidence: one record, or every record of a list as ranges. */
type Evidence = ProbeRecord | readonly ProbeRecord[] | undefined | null;

/** An answer for question `id`, its evidence the records given. */
export function answer(id: QuestionId, verdict: Verdict, fact: string, figures: Record<string, unknown>, evidence: readonly Evidence[], rule?: string): Omit<Answer, 'seconds'> {
  const parts = evidence.flatMap((e): [number, number][] => {
    if (!e) return [];
    if ('n' in e) return [[e.n, e.n]];
    return (e as readonly ProbeRecord[]).map((r): [number, number] => [r.n, r.n]);
  });
  return { id, question: QUESTIONS[id], verdict, ...(rule && { rule }), fact, figures, evidence: merged(parts) };
}

/**
 * Resolves once `enough()` holds, or no record `match` accepts has crossed for
 * the quiet period ("nothing more is coming" has no event); never after `capMs`.
 */
export async function settled(p: Probe, match: (r: ProbeRecord) => boolean, enough: () => boolean, capMs: number): Promise<void> {
  const watch = arrivalWatch(enough);
  const off = p.rec.watch((r) => {
    if (match(r)) watch.arrived();
  });
  try {
    await within(watch.settled(p.limits.quietMs), capMs);
  } finally {
    watch.stop();
    off();
  }
}

/** Ends a persistent session the probe left on the broker: connect clean, then DISCONNECT. */
export async function forget(p: Probe, role: string): Promise<void> {
  const conn = await client(p, role, { clean: true }).catch(() => null);
  await conn?.end(p.limits.answerMs);
}

/** The PUBLISHes the broker sent on connection `connection`. */
export function publishesOn(p: Probe, connection: number, since = 0): (ProbeRecord & { packet: Extract<Packet, { cmd: 'publish' }> })[] {
  return p.rec.records.slice(since).filter((r): r is ProbeRecord & { packet: Extract<Packet, { cmd: 'publish' }> } => r.connection === connection && r.direction === 'send' && r.packet.cmd === 'publish');
}

/** The relay connection a client's CONNECT came in on (the latest, for an id that reconnected). */
export function connectionOf(p: Probe, role: string): number {
  const id = `${p.run}-${role}`;
  const connect = p.rec.records.filter((r) => r.clientId === id && r.packet.cmd === 'connect').at(-1);
  return connect?.connection ?? -1;
}
