// One real exchange: a subscriber at one QoS, a publisher at another, one
// message through a broker. Every packet of both clients (and of the broker,
// when it is ours and tapped) is recorded as it happens.
import { performance } from 'node:perf_hooks';
import { RECONNECT_ATTEMPTS, RECONNECT_PERIOD_MS } from '../wire/fault-link';
import type { FaultSpec } from '../wire/fault';
import { startRelay, upstreamOf, type Relay } from '../wire/relay';
import { connect, type Connection, type ConnectionOptions, type ConnectionSettings, type ProtocolVersion } from '../mqtt/connection';
import { publishAll } from '../mqtt/publisher';
import type { QoS } from '../mqtt/qos';
import { MqttError } from '../mqtt/errors';
import { collectDeliveries, subscribe, type Delivery, type Subscription } from '../mqtt/subscriber';
import type { LaneEvent, ProxyLog } from './lanes';
import { within } from '../mqtt/wait';

export interface ExchangeOptions {
  /** The publisher's broker (and the subscriber's, unless subUrl names another). */
  url: string;
  /** The subscriber's broker when it is not the publisher's: another node of a cluster, the far side of a bridge. */
  subUrl?: string;
  publishQos: QoS;
  subscribeQos: QoS;
  topic: string;
  message: string;
  /** Prefix for the two client ids, unique per exchange. */
  idPrefix: string;
  /** MQTT version of both clients; 4 (MQTT 3.1.1) when left out. */
  protocol?: ProtocolVersion;
  /** Credentials, TLS and keepalive of both clients (the lab's connection flags). */
  connection?: ConnectionSettings;
  /** Put a fault proxy on the publisher's connection; the publisher then reconnects (same id, clean:false) and resends. */
  fault?: FaultSpec;
  /** How long to wait for each answer of the broker's (CONNACK, SUBACK, an acknowledgement), and for each goodbye, in ms. */
  ackTimeoutMs: number;
  /** A protocol error in the words the tools print (with the flag that changes the wait); its own message when left out. */
  words?: (error: MqttError) => string;
  /** false: both clients connect with clean=0 (persistent sessions); true when left out. A publisher behind --fault is always clean=0. */
  clean?: boolean;
}

/** MQTT.js handed a message to the subscriber's application. */
export interface Handover {
  at: number;
  qos: QoS;
  /** DUP=1, or the same id, topic and payload again: at QoS 1 a message can arrive twice. */
  secondCopy: boolean;
}

export interface ExchangeResult {
  publisherId: string;
  subscriberId: string;
  /** The SUBACK's code; null when no SUBACK came within the ack timeout. */
  granted: number | null;
  /** What the subscriber's application was handed, and when (performance.now()); null when nothing arrived. */
  delivery: (Omit<Delivery, 'acknowledged'> & { at: number }) | null;
  /** Every hand-over to the subscriber's application, in order: a resend after a cut can bring a second copy (QoS 1). */
  handovers: Handover[];
  /** Why the exchange stopped short (the broker closed the publisher's connection, nothing arrived), or null. */
  problem: string | null;
  /** The broker's answer that never came within the ack timeout (`SUBACK`, `PUBACK`, `PUBREC`, `PUBCOMP`), or null. */
  timedOut: string | null;
  events: LaneEvent[];
  /** What the fault proxy did on the publisher's connection; null without --fault. */
  proxy: ProxyLog | null;
}

/** How long to wait for a delivery once the publisher's flow is complete: only a broker that drops the message makes us wait this long. */
const DELIVERY_WAIT_MS = 2000;
/** After the broker cut the publisher off, a short explicit wait shows that nothing arrives. */
const NOTHING_WAIT_MS = 200;

/** The client ids an exchange will use, so a broker tap can pick out its connections. */
export function exchangeIds(idPrefix: string): { publisherId: string; subscriberId: string } {
  return { publisherId: `${idPrefix}-pub`, subscriberId: `${idPrefix}-sub` };
}

/**
 * Runs one exchange; `onEvent` sees each client packet as it happens. A broker
 * that refuses the publish, drops the message or never answers is a result
 * (`problem`), not an error: the lab shows what the broker did. A broker that
 * never accepts a connection, or drops the subscriber's, is an error.
 */
export async function runExchange(options: ExchangeOptions, onEvent: (event: LaneEvent) => void = () => undefined): Promise<ExchangeResult> {
  const events: LaneEvent[] = [];
  const { publisherId, subscriberId } = exchangeIds(options.idPrefix);
  const record = (event: LaneEvent) => {
    events.push(event);
    onEvent(event);
  };
  const base = { ...options.connection, url: options.url, clean: options.clean ?? true, protocol: options.protocol ?? 4, connectTimeoutMs: options.ackTimeoutMs };
  const bound = options.ackTimeoutMs;
  const words = options.words ?? ((error: MqttError) => error.message);

  const handovers: Handover[] = [];
  let delivered: (d: Delivery & { at: number }) => void = () => undefined;
  const firstDelivery = new Promise<Delivery & { at: number }>((resolve) => (delivered = resolve));
  // connect() bounds the wait for CONNACK: a broker that never sends one is an error (exit 4).
  const sub: Connection = await connect({ ...base, url: options.subUrl ?? options.url, clientId: subscriberId }, (e) => record({ ...e, lane: 'subscriber' }), (client) => {
    collectDeliveries(client, (d) => {
      const at = performance.now();
      handovers.push({ at, qos: d.qos, secondCopy: d.secondCopy });
      delivered({ ...d, at });
    });
  });
  let pub: Connection | undefined;
  const proxyLog: ProxyLog | null = options.fault ? { cuts: [], dropped: [] } : null;
  let proxy: Relay | null = null;
  const result = (rest: Pick<ExchangeResult, 'granted' | 'delivery' | 'problem' | 'timedOut'>): ExchangeResult => ({ publisherId, subscriberId, ...rest, handovers, events, proxy: proxyLog });
  try {
    let subscription: Subscription;
    try {
      subscription = await subscribe(sub, options.topic, options.subscribeQos, bound);
    } catch (error) {
      if (!waitRanOut(error)) throw error;
      await sub.end(0); // the SUBACK's wait is over: no more grace for it, DISCONNECT now
      return result({ granted: null, delivery: null, problem: `${words(error)}; without a subscription there is nothing to deliver, so the pair stops here`, timedOut: 'SUBACK' });
    }
    let publisher: ConnectionOptions = { ...base, clientId: publisherId };
    if (options.fault && proxyLog) {
      proxy = await startRelay({
        upstream: upstreamOf(options.url),
        cutMalformed: true,
        fault: options.fault,
        onPacket: (event) => {
          if (event.dropped) proxyLog.dropped.push(event);
        },
        onCut: (cut) => proxyLog.cuts.push(cut),
      });
      // clean:false so the broker keeps the publisher's session (its half-done flow) across the cut.
      publisher = { ...publisher, url: proxy.url, clean: false, reconnect: { periodMs: RECONNECT_PERIOD_MS, maxAttempts: RECONNECT_ATTEMPTS } };
    }
    pub = await connect(publisher, (e) => record({ ...e, lane: 'publisher' }));
    // publishAll bounds each acknowledgement's wait and names the one that never came.
    const job = { topic: options.topic, qos: options.publishQos, message: options.message, count: 1, interval: 0, retain: false, ackTimeoutMs: bound };
    const acknowledged = firstDelivery.then(async (d) => {
      await d.acknowledged;
      return d;
    });
    const published = publishAll(pub, job).then(
      () => ({ problem: null, silent: false }),
      (error: unknown) => ({ problem: describe(error, words), silent: waitRanOut(error) }),
    );
    const flow = await Promise.race([published, sub.lost]);
    const missing = flow.silent ? missingAck(pub) : null;
    let problem = flow.problem;
    const deliveryWait = Math.min(DELIVERY_WAIT_MS, bound);
    const delivery = await Promise.race([within(acknowledged, problem ? NOTHING_WAIT_MS : deliveryWait), sub.lost]);
    if (!delivery && !problem) problem = `nothing reached the subscriber within ${deliveryWait} ms of the publisher's last packet`;
    proxy?.calm(); // a timer cut during the goodbye would show nothing but the ending
    // Each end() is bounded: handshakes still in flight get the ack timeout (none after it already ran out), then DISCONNECT goes anyway.
    await Promise.all([pub.end(flow.silent ? 0 : bound), sub.end(bound)]);
    let kept: ExchangeResult['delivery'] = null;
    if (delivery) {
      const { acknowledged: _, ...rest } = delivery;
      kept = rest;
    }
    return result({ granted: subscription.granted, delivery: kept, problem, timedOut: missing });
  } catch (error) {
    sub.client.end(true);
    pub?.client.end(true);
    throw error;
  } finally {
    await proxy?.close();
  }
}

/** A bounded wait for the broker's answer ran out (the connection layer's 'timeout'). */
function waitRanOut(error: unknown): error is MqttError {
  return error instanceof MqttError && error.kind === 'timeout';
}

/** A pair's problem in the words the tools would print (with the flag that changes the wait). */
function describe(error: unknown, words: (error: MqttError) => string): string {
  if (error instanceof MqttError) return words(error);
  return error instanceof Error ? error.message : String(error);
}

/** The acknowledgement the publisher was still waiting for, from its flow on the wire: PUBACK at QoS 1; PUBREC, or PUBCOMP once PUBREC came, at QoS 2. */
function missingAck(pub: Connection): string {
  const flow = [...pub.flows.open.values()].find((f) => f.cmd === 'publish');
  if (flow?.qos === 1) return 'PUBACK';
  return flow?.pubrecSeen ? 'PUBCOMP' : 'PUBREC';
}
