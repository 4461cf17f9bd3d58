// The chaos check: numbered messages at one QoS from a publisher to a
// subscriber, both clean=false with stable ids, each through its own proxy
// that keeps cutting the connection. Then count what arrived against what was
// sent and acknowledged. Burst mode cuts nothing: the subscriber is simply
// offline while everything is published, which shows a broker's queue limit.
import { performance } from 'node:perf_hooks';
import { connect, END_GRACE_MS, stopClient, type Connection, type ConnectionOptions, type ConnectionSettings } from '../mqtt/connection';
import { subscribe } from '../mqtt/subscriber';
import { MqttError } from '../mqtt/errors';
import type { PacketEvent } from '../mqtt/packet-event';
import type { QoS } from '../mqtt/qos';
import { LIMITS, type Limits } from '../mqtt/wait';
import { seqOf } from '../numbered/payload';
import { publishNumbered, type NumberedPublisher } from '../numbered/publisher';
import { newTally, record } from '../numbered/tally';
import { stalledVerdict, tally, verdict, type ChaosTally, type Verdict } from './accounting';
import type { BrokerKind } from '../broker/kind';
import type { FaultSpec } from '../wire/fault';
import { RECONNECT_PERIOD_MS } from '../wire/fault-link';
import { start, type StartedBroker } from '../broker/start';
import { startRelay, upstreamOf, type Relay, type RelayPacketEvent } from '../wire/relay';
import { randomInts } from '../wire/prng';
import type { BrokerNode } from '../broker/nodes';
import type { Address } from '../broker/listen';
import { secondsText, within } from '../mqtt/wait';

export interface ChaosOptions {
  /** Which broker to start on loopback (unless `broker` names a running one). */
  engine: BrokerKind;
  /** A running broker's URL instead of starting one. */
  broker?: string;
  /** Messages per QoS level. */
  count: number;
  qos: QoS[];
  /** Cut each connection after a random delay in this range (ms), unless burst. */
  cut: { minMs: number; maxMs: number };
  seed: number;
  burst: boolean;
  /** Credentials and keepalive of every client (the command's connection flags). */
  connection?: ConnectionSettings;
  /** Messages per second at most, so every QoS level runs long enough to meet the cuts. */
  rate: number;
  /** Across nodes (--pub-broker/--sub-broker): the publisher's running broker and the subscriber's, instead of `broker`. */
  legs?: { pubUrl: string; subUrl: string };
  /** aedes-cluster: how many nodes; mosquitto-bridge: the bridge's QoS. */
  nodes?: number;
  bridgeQos?: QoS;
  /** Stop this node (of the engine's) once per QoS level, at a seeded moment, and start it again RESTART_DOWN_MS later. */
  restartNode?: 'A' | 'B';
}

/** What the proxies saw of resends: by our publisher, and by the broker toward the subscriber. */
export interface Resends {
  publisher: { withDup: number; withoutDup: number };
  broker: { withDup: number; withoutDup: number };
}

export interface QosRun {
  qos: QoS;
  tally: ChaosTally;
  verdict: Verdict;
  reconnects: { publisher: number; subscriber: number };
  /** Connections the proxies cut; a side that reconnected more often than it was cut was closed by something else. */
  cuts: { publisher: number; subscriber: number };
  /** Connections the broker closed on its own. */
  brokerClosed: { publisher: number; subscriber: number };
  resends: Resends;
  seconds: number;
  /** The publisher made no progress for STALL_MS and was given up on. */
  stalled: boolean;
  /** Publishes MQTT.js failed, by error message. */
  publishErrors: Record<string, number>;
  /** Malformed packets the broker sent (the proxy cut each of those connections). */
  malformed: number;
  /** What the broker logged about dropping messages during the run (mosquitto). */
  brokerSaid: string[];
  /** CONNECTs the broker never answered with a CONNACK (the client then waits out its connect timeout). */
  unanswered: { publisher: number; subscriber: number };
  /** Connections on which the broker sent something before its CONNACK: a broken rule (MQTT-3.2.0-1). */
  connackNotFirst: { publisher: number; subscriber: number };
  /** The publisher's or subscriber's CONNACKs after a reconnect that said session present 0: the broker had forgotten it. */
  sessionsLost: { publisher: number; subscriber: number };
  /** The node stopped and started again mid-run, if one was. */
  restart: NodeRestart | null;
}

/** A node stopped and started again during one QoS level: when, and what it did to the messages issued meanwhile. */
export interface NodeRestart {
  node: string;
  /** Seconds from the level's start. */
  stoppedAt: number;
  upAt: number | null;
  /** When its client (the publisher on A, the subscriber on B) had a CONNACK from it again. */
  clientBackAt: number | null;
  /** Messages the publisher issued between the stop and that CONNACK. */
  issuedWhileDown: number;
  /** Of all lost messages: those issued while the node was down, and the rest. */
  lostWhileDown: number;
  lostOtherwise: number;
  /** Why the restart failed, if it did: the node then stays down for the rest of the level. */
  failed?: string;
}

/** How long a restarted node stays down. */
export const RESTART_DOWN_MS = 1000;

export interface ChaosReport {
  broker: string;
  runs: QosRun[];
}

/** Publishes in flight at once: mosquitto's default max_inflight_messages toward a client. */
const WINDOW = 20;
/** After publishing, the run ends when everything arrived or nothing has arrived for this long. */
const QUIET_MS = 2000;
export interface ChaosLimits extends Limits {
  /** A publisher with no acknowledgement for this long is stuck: report it rather than hang. */
  stallMs: number;
}

export const CHAOS_LIMITS: ChaosLimits = { ...LIMITS, stallMs: 20_000 };

/** What a chaos report comes to, worst first: a malformed packet or a broken MQTT rule, a stalled run (a bound ran out), a broken promise; else every promise kept. */
export type ChaosVerdict = 'malformed' | 'violation' | 'stalled' | 'broken' | 'kept';

export function chaosVerdict(report: ChaosReport): ChaosVerdict {
  if (report.runs.some((run) => run.malformed > 0)) return 'malformed';
  if (report.runs.some((run) => run.connackNotFirst.publisher + run.connackNotFirst.subscriber > 0)) return 'violation';
  if (report.runs.some((run) => run.stalled)) return 'stalled';
  return report.runs.every((run) => run.verdict.kept) ? 'kept' : 'broken';
}

export async function runChaos(options: ChaosOptions, print: (line: string) => void, limits: ChaosLimits = CHAOS_LIMITS): Promise<ChaosReport> {
  const broker: ChaosBroker = options.broker ? external(options.broker) : options.legs ? external(options.legs.pubUrl) : await start(options.engine, { nodes: options.nodes, bridgeQos: options.bridgeQos });
  try {
    const mode = options.burst ? 'burst: the subscriber is offline while all messages are published' : `cuts every ${options.cut.minMs}-${options.cut.maxMs} ms (seed ${options.seed})`;
    const targets = targetsOf(broker, options);
    const hop = broker.hop ? ` (${broker.hop.text})` : '';
    const where = targets.sub === targets.pub ? broker.name : `${broker.name}${hop}; the publisher on node A ${targets.pub.url}, the persistent subscriber on node B ${targets.sub.url}`;
    const restarting = targets.restart ? `; node ${targets.restart.label} stopped and started again ${RESTART_DOWN_MS} ms later once per QoS level` : '';
    print(`broker: ${where}; ${options.count} messages per QoS at up to ${options.rate}/s; ${mode}${restarting}`);
    const runs: QosRun[] = [];
    for (const qos of options.qos) {
      const logged = broker.log().length;
      const run = await runChaosLevel(targets, qos, options, print, limits);
      run.brokerSaid = broker.log().slice(logged).split('\n').filter((l) => /drop/i.test(l)).map((l) => l.replace(/^\d+: /, ''));
      runs.push(run);
      for (const line of describeRun(run)) print(line);
    }
    return { broker: broker.name, runs };
  } finally {
    await broker.close();
  }
}

/** A broker someone else runs: nothing to start or stop, no log to read. */
function external(url: string): ChaosBroker {
  return { name: url, url, ...upstreamOf(url), log: () => '', close: async () => undefined };
}

type ChaosBroker = Omit<StartedBroker, 'engine'>;

type Target = Address & { url: string };

/** Where each client goes: one broker for both, or node A and node B; and the node to restart mid-run. */
interface Targets {
  pub: Target;
  sub: Target;
  restart?: BrokerNode;
}

function targetsOf(broker: ChaosBroker, options: ChaosOptions): Targets {
  if (options.legs) return { pub: { url: options.legs.pubUrl, ...upstreamOf(options.legs.pubUrl) }, sub: { url: options.legs.subUrl, ...upstreamOf(options.legs.subUrl) } };
  const [a, b] = broker.nodes ?? [];
  if (!a || !b) return { pub: broker, sub: broker };
  const restart = options.restartNode === undefined ? undefined : options.restartNode === 'A' ? a : b;
  return { pub: a, sub: b, ...(restart && { restart }) };
}

/**
 * Stops `node` at a seeded moment of the level's expected publishing time (its
 * middle fifth to three fifths) and starts it again RESTART_DOWN_MS later;
 * `issuedAt` tells which messages went out meanwhile. Bounded by the starts' own bounds.
 */
function scheduleRestart(node: BrokerNode, options: ChaosOptions, qos: QoS, started: number): { done: Promise<void>; report(issuedAt: Float64Array, issued: number, seen: Uint8Array, clientBack: readonly number[]): NodeRestart; now(): void; dispose(): void } {
  const expectedMs = (options.count / options.rate) * 1000;
  const at = randomInts((options.seed + 100 + qos) >>> 0, Math.floor(expectedMs * 0.2), Math.floor(expectedMs * 0.6))();
  let stoppedAt: number | null = null;
  let upAt: number | null = null;
  let failed: string | undefined;
  let fire: () => void = () => undefined;
  const timer = setTimeout(() => fire(), at);
  let fired = false;
  const done = new Promise<void>((resolve) => {
    fire = () => {
      if (fired) return;
      fired = true;
      clearTimeout(timer);
      stoppedAt = performance.now();
      void node
        .stop()
        .then(() => new Promise((down) => setTimeout(down, RESTART_DOWN_MS)))
        .then(() => node.restart())
        .then(() => (upAt = performance.now()))
        .catch((error: unknown) => (failed = error instanceof Error ? error.message : String(error)))
        .finally(resolve);
    };
  });
  return {
    done,
    now: () => fire(),
    dispose: () => clearTimeout(timer),
    report: (issuedAt, issued, seen, clientBack) => {
      const from = stoppedAt ?? Infinity;
      // Down until its client is connected to it again: messages in between had no way through it.
      const back = upAt === null ? null : (clientBack.find((t) => t >= upAt!) ?? null);
      const to = back ?? Infinity;
      let issuedWhileDown = 0;
      let lostWhileDown = 0;
      let lostOtherwise = 0;
      for (let seq = 0; seq < issued; seq++) {
        const down = issuedAt[seq]! >= from && issuedAt[seq]! <= to;
        if (down) issuedWhileDown++;
        if (!seen[seq]) {
          if (down) lostWhileDown++;
          else lostOtherwise++;
        }
      }
      const seconds = (t: number | null) => (t === null ? null : (t - started) / 1000);
      return { node: node.label, stoppedAt: seconds(stoppedAt) ?? 0, upAt: seconds(upAt), clientBackAt: seconds(back), issuedWhileDown, lostWhileDown, lostOtherwise, ...(failed && { failed }) };
    },
  };
}

async function runChaosLevel(targets: Targets, qos: QoS, options: ChaosOptions, print: (line: string) => void, limits: ChaosLimits): Promise<QosRun> {
  const started = performance.now();
  const topic = `chaos/q${qos}`;
  const target = targets.pub;
  const pubResends = resendCounter('receive');
  const subResends = resendCounter('send');
  const pubHandshakes = handshakeCounter();
  const subHandshakes = handshakeCounter();
  const pubProxy = await startRelay({ upstream: targets.pub, cutMalformed: true, onPacket: (e) => (pubResends.onPacket(e), pubHandshakes.onPacket(e)) });
  const subProxy = await startRelay({ upstream: targets.sub, cutMalformed: true, onPacket: (e) => (subResends.onPacket(e), subHandshakes.onPacket(e)) });
  const proxies = [pubProxy, subProxy];
  const base = { ...options.connection, protocol: 4 as const, clean: false, reconnect: { periodMs: RECONNECT_PERIOD_MS } };
  const pubOptions: ConnectionOptions = { ...base, url: pubProxy.url, clientId: `chaos-pub-q${qos}` };
  const subOptions: ConnectionOptions = { ...base, url: subProxy.url, clientId: `chaos-sub-q${qos}` };

  const counts = newTally(options.count);
  const arrivals = arrivalWatch(() => counts.unique >= options.count);
  const connacks = { publisher: 0, subscriber: 0 };
  const sessionsLost = { publisher: 0, subscriber: 0 };
  const connackTimes: Record<keyof typeof connacks, number[]> = { publisher: [], subscriber: [] };
  const counting = (who: keyof typeof connacks) => (e: PacketEvent) => {
    if (e.direction !== 'receive' || e.packet.cmd !== 'connack') return;
    // After the first CONNACK, session present 0 means the broker no longer had this client's session.
    if (connacks[who] > 0 && e.packet.returnCode === 0 && !e.packet.sessionPresent) sessionsLost[who]++;
    connacks[who]++;
    connackTimes[who].push(performance.now());
  };
  const listen = (client: Connection['client']) =>
    client.on('message', (_topic, payload) => {
      record(counts, seqOf(payload));
      arrivals.arrived();
    });

  const { answerMs } = limits;
  const connectSub = () => connect({ ...subOptions, connectTimeoutMs: answerMs, brokerName: targets.sub.url }, counting('subscriber'), listen);
  const issuedAt = new Float64Array(options.count);
  let restart: ReturnType<typeof scheduleRestart> | undefined;
  let sub: Connection | undefined;
  let pub: Connection | undefined;
  let stalled = false;
  try {
    const seen = (proxy: Relay) => (error: unknown) => Promise.reject(withProxyView(error, proxy, target.url));
    sub = await connectSub().catch(seen(subProxy));
    pub = await connect({ ...pubOptions, connectTimeoutMs: answerMs, brokerName: target.url }, counting('publisher')).catch(seen(pubProxy));
    await subscribe(sub, topic, qos, answerMs, null).catch(seen(subProxy));
    if (options.burst) {
      await sub.end(Math.min(answerMs, END_GRACE_MS));
    } else {
      pubProxy.arm(every(options, qos * 2));
      subProxy.arm(every(options, qos * 2 + 1));
    }
    if (targets.restart && !options.burst) restart = scheduleRestart(targets.restart, options, qos, started);

    const published = publishQos(pub, topic, qos, options, print, limits.stallMs, (seq, at) => (issuedAt[seq] = at));
    stalled = (await published.done) === 'stalled';
    // A restart not yet begun (a short level) happens now: every level that asked for one gets it.
    restart?.now();
    await restart?.done;
    for (const proxy of proxies) proxy.calm();
    if (options.burst) sub = await connectSub();
    // A broker that never stops sending (duplicates, say) cannot hold the run open for ever; the cap is generous, so a slow drain is still counted.
    const drainMs = 5 * limits.stallMs;
    const drained = await within(arrivals.settled(QUIET_MS).then(() => true), drainMs);
    arrivals.stop();
    if (drained === null) print(`  QoS ${qos}: the broker was still delivering ${secondsText(drainMs)} after the last publish; counting stopped there`);

    // A stalled run stopped publishing: count what went out, not what was planned.
    const t = tally(counts, published.acked, published.failed, published.issued);
    return {
      qos,
      tally: t,
      verdict: stalled ? stalledVerdict(t, secondsText(limits.stallMs)) : verdict(qos, t),
      reconnects: { publisher: connacks.publisher - 1, subscriber: connacks.subscriber - 1 },
      cuts: { publisher: pubProxy.cuts(), subscriber: subProxy.cuts() },
      brokerClosed: { publisher: pubProxy.brokerClosed(), subscriber: subProxy.brokerClosed() },
      resends: { publisher: pubResends.counts, broker: subResends.counts },
      unanswered: { publisher: pubHandshakes.unanswered(), subscriber: subHandshakes.unanswered() },
      connackNotFirst: { publisher: pubHandshakes.connackNotFirst(), subscriber: subHandshakes.connackNotFirst() },
      seconds: (performance.now() - started) / 1000,
      stalled,
      publishErrors: published.errors,
      malformed: pubProxy.brokerMalformed() + subProxy.brokerMalformed(),
      brokerSaid: [],
      sessionsLost,
      restart: restart ? restart.report(issuedAt, published.issued, counts.seen, connackTimes[targets.restart === targets.pub ? 'publisher' : 'subscriber']) : null,
    };
  } finally {
    restart?.dispose();
    const force = stalled || !pub || !sub;
    await Promise.all([finish(pub, force, answerMs), finish(sub, force, answerMs)]);
    await Promise.all(proxies.map((p) => p.close()));
  }
}

/** An error through the proxy, with what the proxy saw the broker do (close, or send garbage) instead of answering. */
function withProxyView(error: unknown, proxy: Relay, url: string): unknown {
  if (!(error instanceof MqttError)) return error;
  // The proxy cuts a connection that carries a malformed packet, so the client only saw a close: name the cause.
  if (proxy.brokerMalformed() > 0) return new MqttError('violation', `the broker at ${url} sent ${proxy.brokerMalformed()} malformed packet(s); the proxy cut each of those connections`);
  if (proxy.brokerClosed() > 0) return error.adding(`: the broker closed the connection ${proxy.brokerClosed()} time(s)`);
  return error;
}

function every(options: ChaosOptions, offset: number): FaultSpec {
  return { kind: 'every', minMs: options.cut.minMs, maxMs: options.cut.maxMs, seed: (options.seed + offset) >>> 0 };
}

/** Publishes 0..count-1 as payloads, WINDOW at a time, paced to the rate; prints progress a quarter at a time. */
function publishQos(pub: Connection, topic: string, qos: QoS, options: ChaosOptions, print: (line: string) => void, stallMs: number, onIssued: (seq: number, at: number) => void): NumberedPublisher {
  const { count } = options;
  const step = Math.max(1, Math.floor(count / 4));
  let done = 0;
  const completed = () => {
    if (++done % step === 0 && done < count) print(`  QoS ${qos}: ${done} of ${count} published`);
  };
  // Nothing comes back for QoS 0, and MQTT.js may never call back for one queued across a cut: it is done once issued.
  return publishNumbered(
    pub.client,
    { topic, qos, count, size: 0, window: WINDOW, rate: options.rate, awaitWrites: false, stallMs },
    qos === 0 ? { onIssued: (seq, at) => (onIssued(seq, at), completed()) } : { onIssued, onSettled: completed },
  );
}

/**
 * Resolves when `complete()` holds, or when nothing has arrived for `quietMs`
 * after settled() was called: "nothing more is coming" has no event to await.
 */
export function arrivalWatch(complete: () => boolean): { arrived(): void; settled(quietMs: number): Promise<void>; stop(): void } {
  let onArrival: () => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  // Once settled (or given up on), later arrivals start no more timers.
  const stop = () => {
    clearTimeout(timer);
    onArrival = () => undefined;
  };
  return {
    arrived: () => onArrival(),
    stop,
    settled: (quietMs) =>
      new Promise<void>((resolve) => {
        const done = () => {
          stop();
          resolve();
        };
        if (complete()) return done();
        timer = setTimeout(done, quietMs);
        onArrival = () => {
          clearTimeout(timer);
          if (complete()) return done();
          timer = setTimeout(done, quietMs);
        };
      }),
  };
}

/**
 * Counts PUBLISHes sent again under an id still waiting for its PUBACK/PUBREC,
 * split by the DUP flag they carried. `publishDirection` is the broker-side
 * direction of the PUBLISHes to watch ('receive': from our publisher; 'send': to our subscriber).
 */
function resendCounter(publishDirection: 'receive' | 'send'): { onPacket(e: RelayPacketEvent): void; counts: { withDup: number; withoutDup: number } } {
  const waiting = new Set<number>();
  const counts = { withDup: 0, withoutDup: 0 };
  return {
    counts,
    onPacket: ({ direction, packet, dropped }) => {
      if (packet.cmd === 'publish' && packet.qos > 0 && direction === publishDirection && packet.messageId !== undefined) {
        if (waiting.has(packet.messageId)) counts[packet.dup ? 'withDup' : 'withoutDup']++;
        waiting.add(packet.messageId);
      }
      if ((packet.cmd === 'puback' || packet.cmd === 'pubrec') && direction !== publishDirection && !dropped && packet.messageId !== undefined) {
        waiting.delete(packet.messageId);
      }
    },
  };
}

/**
 * The handshakes on one relay: CONNECTs that got no CONNACK back on their
 * connection, and connections on which the broker's first packet was not
 * CONNACK (MQTT-3.2.0-1: the server's first packet must be CONNACK).
 */
function handshakeCounter(): { onPacket(e: RelayPacketEvent): void; unanswered(): number; connackNotFirst(): number } {
  const asked = new Set<number>();
  const spoken = new Set<number>();
  let connects = 0;
  let answered = 0;
  let notFirst = 0;
  return {
    onPacket: ({ direction, packet, connection, dropped }) => {
      if (dropped) return;
      if (direction === 'receive' && packet.cmd === 'connect') connects++, asked.add(connection);
      if (direction !== 'send') return;
      if (!spoken.has(connection) && packet.cmd !== 'connack') notFirst++;
      spoken.add(connection);
      if (packet.cmd === 'connack' && asked.delete(connection)) answered++;
    },
    unanswered: () => connects - answered,
    connackNotFirst: () => notFirst,
  };
}

/** A polite DISCONNECT, bounded (after the cuts a broker may never finish some handshakes); at once when forced. */
async function finish(conn: Connection | undefined, force: boolean, ms: number): Promise<void> {
  if (force) return conn && stopClient(conn.client);
  await conn?.end(Math.min(ms, END_GRACE_MS));
}

function restartLine(r: NodeRestart): string {
  const up = r.failed ? `did not come back: ${r.failed}` : r.upAt === null ? 'was not back' : `was listening again at ${r.upAt.toFixed(1)} s`;
  const client = r.clientBackAt === null ? 'its client never reconnected' : `its client reconnected at ${r.clientBackAt.toFixed(1)} s`;
  return `  node ${r.node} stopped at ${r.stoppedAt.toFixed(1)} s, ${up}, ${client}; ${r.issuedWhileDown} message(s) issued in between; lost: ${r.lostWhileDown} of those, ${r.lostOtherwise} others`;
}

/** The lines for one QoS run, from its figures. */
function describeRun(run: QosRun): string[] {
  const t = run.tally;
  const r = run.resends;
  return [
    `QoS ${run.qos}: sent ${t.sent}, ${run.qos === 0 ? 'written' : 'acked'} ${t.acked}, received ${t.received}, lost ${t.lost}, duplicated ${t.duplicated}, out of order ${t.outOfOrder} (${run.seconds.toFixed(1)} s)`,
    `  reconnects: publisher ${run.reconnects.publisher} after ${run.cuts.publisher} cuts, subscriber ${run.reconnects.subscriber} after ${run.cuts.subscriber} cuts`,
    `  resent PUBLISH on the wire: publisher ${r.publisher.withDup} with DUP=1, ${r.publisher.withoutDup} with DUP=0; broker to subscriber ${r.broker.withDup} with DUP=1, ${r.broker.withoutDup} with DUP=0`,
    ...(run.brokerClosed.publisher + run.brokerClosed.subscriber > 0
      ? [`  the broker itself closed connections: publisher ${run.brokerClosed.publisher}, subscriber ${run.brokerClosed.subscriber}`]
      : []),
    ...Object.entries(run.publishErrors).map(([why, n]) => `  MQTT.js failed ${n} publish(es) on the publisher: ${why}`),
    ...(run.malformed > 0 ? [`  the broker sent ${run.malformed} malformed packet(s): the proxy cut each of those connections`] : []),
    ...run.brokerSaid.map((line) => `  the broker logged: ${line}`),
    // The subscriber's session is its subscription and its queue; aedes answers session present 0 to any client without subscriptions (our publisher), so that count says little.
    ...(run.sessionsLost.subscriber > 0
      ? [`  the subscriber's session was gone ${run.sessionsLost.subscriber} time(s) (CONNACK session present 0 on a reconnect): MQTT.js subscribed again by itself; what was queued for the old session went with it`]
      : []),
    ...(run.connackNotFirst.publisher + run.connackNotFirst.subscriber > 0
      ? [`  ! rule broken: the broker sent a packet before its CONNACK on ${run.connackNotFirst.publisher} publisher and ${run.connackNotFirst.subscriber} subscriber connection(s) [MQTT-3.2.0-1: the server's first packet is CONNACK]`]
      : []),
    ...(run.unanswered.publisher + run.unanswered.subscriber > 0
      ? [`  CONNECTs with no CONNACK on their connection (the broker down, or silent): publisher ${run.unanswered.publisher}, subscriber ${run.unanswered.subscriber}`]
      : []),
    ...(run.restart ? [restartLine(run.restart)] : []),
    `  ${run.verdict.text}`,
  ];
}
