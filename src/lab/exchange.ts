// One real exchange: a subscriber at one QoS, a publisher at another, one
// message through a broker. Every packet of both clients (and of the broker,
// when it is ours and tapped) is recorded as it happens.
import { performance } from 'node:perf_hooks';
import { proxyTarget, RECONNECT_PERIOD_MS } from '../faults/fault-link';
import type { FaultSpec } from '../faults/fault-spec';
import { startProxy, type FaultProxy } from '../faults/proxy';
import type { MqttClient } from 'mqtt';
import { CliError, EXIT } from '../cli/errors';
import { connect, type Connection, type ConnectionOptions, type PacketListener, type ProtocolVersion } from '../mqtt/connection';
import type { PacketEvent } from '../mqtt/packet-event';
import { publishAll } from '../mqtt/publisher';
import type { QoS } from '../mqtt/qos';
import { collectDeliveries, subscribe, type Delivery } from '../mqtt/subscriber';
import type { ProxyLog } from './timeline';
import { within } from './wait';

export type Leg = 'publisher' | 'broker' | 'subscriber';

export interface LegEvent extends PacketEvent {
  leg: Leg;
  /** For broker events: the client on the other end of that connection. */
  clientId?: string;
}

export interface ExchangeOptions {
  url: string;
  publishQos: QoS;
  subscribeQos: QoS;
  topic: string;
  message: string;
  /** Prefix for the two client ids, unique per exchange. */
  idPrefix: string;
  /** MQTT version of both clients; 4 (MQTT 3.1.1) when left out. */
  protocol?: ProtocolVersion;
  /** Put a fault proxy on the publisher's connection; the publisher then reconnects (same id, clean:false) and resends. */
  fault?: FaultSpec;
  /** How long to wait for each answer of the broker's (CONNACK, SUBACK, an acknowledgement), in ms. */
  ackTimeoutMs: number;
}

export interface ExchangeResult {
  publisherId: string;
  subscriberId: string;
  /** The SUBACK's code; null when no SUBACK came within the ack timeout. */
  granted: number | null;
  /** What the subscriber's application was handed, and when (performance.now()); null when nothing arrived. */
  delivery: (Omit<Delivery, 'acknowledged'> & { at: number }) | null;
  /** Why the exchange stopped short (the broker closed the publisher's connection, nothing arrived), or null. */
  problem: string | null;
  /** The broker's answer that never came within the ack timeout (`SUBACK`, `PUBACK`, `PUBREC`, `PUBCOMP`), or null. */
  timedOut: string | null;
  events: LegEvent[];
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
export async function runExchange(options: ExchangeOptions, onEvent: (event: LegEvent) => void = () => undefined): Promise<ExchangeResult> {
  const events: LegEvent[] = [];
  const { publisherId, subscriberId } = exchangeIds(options.idPrefix);
  const record = (event: LegEvent) => {
    events.push(event);
    onEvent(event);
  };
  const base = { url: options.url, clean: true, protocol: options.protocol ?? 4 };
  const bound = options.ackTimeoutMs;
  const waited = `within ${seconds(bound)}`;

  let delivered: (d: Delivery & { at: number }) => void = () => undefined;
  const firstDelivery = new Promise<Delivery & { at: number }>((resolve) => (delivered = resolve));
  const sub: Connection = await connectWithin({ ...base, clientId: subscriberId }, (e) => record({ ...e, leg: 'subscriber' }), bound, (client) =>
    collectDeliveries(client, (d) => delivered({ ...d, at: performance.now() })),
  );
  let pub: Connection | undefined;
  const proxyLog: ProxyLog | null = options.fault ? { cuts: [], dropped: [] } : null;
  let proxy: FaultProxy | null = null;
  const result = (rest: Pick<ExchangeResult, 'granted' | 'delivery' | 'problem' | 'timedOut'>): ExchangeResult => ({ publisherId, subscriberId, ...rest, events, proxy: proxyLog });
  try {
    const subscription = await Promise.race([within(subscribe(sub, options.topic, options.subscribeQos), bound), sub.lost]);
    if (subscription === null) {
      await endWithin(sub, bound);
      const problem = `no SUBACK ${waited}: without a subscription there is nothing to deliver, so the pair stops here`;
      return result({ granted: null, delivery: null, problem, timedOut: 'SUBACK' });
    }
    let publisher: ConnectionOptions = { ...base, clientId: publisherId };
    if (options.fault && proxyLog) {
      proxy = await startProxy({
        target: proxyTarget(options.url),
        fault: options.fault,
        onPacket: (event) => {
          if (event.dropped) proxyLog.dropped.push(event);
        },
        onCut: (cut) => proxyLog.cuts.push(cut),
      });
      // clean:false so the broker keeps the publisher's session (its half-done flow) across the cut.
      publisher = { ...publisher, url: proxy.url, clean: false, reconnect: { periodMs: RECONNECT_PERIOD_MS } };
    }
    pub = await connectWithin(publisher, (e) => record({ ...e, leg: 'publisher' }), bound);
    const job = { topic: options.topic, qos: options.publishQos, message: options.message, count: 1, interval: 0, retain: false };
    const acknowledged = firstDelivery.then(async (d) => {
      await d.acknowledged;
      return d;
    });
    const published = publishAll(pub, job).then(
      () => ({ problem: null }),
      (error: unknown) => ({ problem: error instanceof Error ? error.message : String(error) }),
    );
    const flow = await Promise.race([within(published, bound), sub.lost]);
    let timedOut: string | null = null;
    let problem: string | null;
    if (flow === null) {
      timedOut = missingAck(events, options.publishQos);
      problem = `no ${timedOut} ${waited}: ${GIVING_UP[timedOut] ?? ''}`;
    } else {
      problem = flow.problem;
    }
    const deliveryWait = Math.min(DELIVERY_WAIT_MS, bound);
    const delivery = await Promise.race([within(acknowledged, problem ? NOTHING_WAIT_MS : deliveryWait), sub.lost]);
    if (!delivery && !problem) problem = `nothing reached the subscriber within ${deliveryWait} ms of the publisher's last packet`;
    proxy?.calm(); // a timer cut during the goodbye would show nothing but the ending
    await Promise.all([endWithin(pub, bound), endWithin(sub, bound)]);
    let kept: ExchangeResult['delivery'] = null;
    if (delivery) {
      const { acknowledged: _, ...rest } = delivery;
      kept = rest;
    }
    return result({ granted: subscription.granted, delivery: kept, problem, timedOut });
  } catch (error) {
    sub.client.end(true);
    pub?.client.end(true);
    throw error;
  } finally {
    await proxy?.close();
  }
}

/** What the publisher does about an acknowledgement that never came, per missing packet. */
const GIVING_UP: Record<string, string> = {
  PUBACK: 'at QoS 1 the publisher keeps the message and would send it again (DUP=1) on a reconnect to the same session; the lab gives up on it',
  PUBREC: 'at QoS 2 the publisher keeps the message and would send it again (DUP=1) on a reconnect to the same session; the lab gives up on it',
  PUBCOMP: 'the broker has the message (its PUBREC came); the publisher would send PUBREL again on a reconnect to the same session; the lab gives up on it',
};

/** The acknowledgement the publisher was still waiting for: PUBACK at QoS 1; PUBREC, or PUBCOMP once PUBREC came, at QoS 2. */
function missingAck(events: readonly LegEvent[], qos: QoS): string {
  if (qos === 1) return 'PUBACK';
  const pubrec = events.some((e) => e.leg === 'publisher' && e.direction === 'receive' && e.packet.cmd === 'pubrec');
  return pubrec ? 'PUBCOMP' : 'PUBREC';
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** connect(), bounded: a broker that never sends CONNACK is an error (exit 4) once `ms` have passed, and the half-open client is dropped. */
async function connectWithin(options: ConnectionOptions, onPacket: PacketListener, ms: number, prepare?: (client: MqttClient) => void): Promise<Connection> {
  let client: MqttClient | undefined;
  const connecting = connect(options, onPacket, (c) => {
    client = c;
    prepare?.(c);
  });
  const connection = await within(connecting, ms);
  if (connection) return connection;
  connecting.catch(() => undefined); // it fails later, as we drop it; nobody waits for it any more
  client?.end(true);
  throw new CliError(`the broker at ${options.url} accepted the TCP connection but sent no CONNACK within ${seconds(ms)} (--ack-timeout)`, EXIT.timeout);
}

/**
 * DISCONNECT, bounded. MQTT.js's end() first waits for every unacknowledged
 * packet, forever against a broker that never acks: the lab gives those up so
 * the DISCONNECT goes out now, and drops the socket if even that does not end.
 */
async function endWithin(conn: Connection, ms: number): Promise<void> {
  const { client } = conn;
  if (!client.connected) {
    client.end(true);
    return;
  }
  for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
  if ((await within(conn.end(), ms)) === null) client.end(true);
}
