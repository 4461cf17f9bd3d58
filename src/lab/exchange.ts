// One real exchange: a subscriber at one QoS, a publisher at another, one
// message through a broker. Every packet of both clients (and of the broker,
// when it is ours and tapped) is recorded as it happens.
import { performance } from 'node:perf_hooks';
import { proxyTarget, RECONNECT_PERIOD_MS } from '../faults/fault-link';
import type { FaultSpec } from '../faults/fault-spec';
import { startProxy, type FaultProxy } from '../faults/proxy';
import { connect, type Connection, type ConnectionOptions, type ProtocolVersion } from '../mqtt/connection';
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
}

export interface ExchangeResult {
  publisherId: string;
  subscriberId: string;
  granted: number;
  /** What the subscriber's application was handed, and when (performance.now()); null when nothing arrived. */
  delivery: (Omit<Delivery, 'acknowledged'> & { at: number }) | null;
  /** Why the exchange stopped short (the broker closed the publisher's connection, nothing arrived), or null. */
  problem: string | null;
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
 * that refuses the publish or drops the message is a result (`problem`), not
 * an error: the lab shows what the broker did.
 */
export async function runExchange(options: ExchangeOptions, onEvent: (event: LegEvent) => void = () => undefined): Promise<ExchangeResult> {
  const events: LegEvent[] = [];
  const { publisherId, subscriberId } = exchangeIds(options.idPrefix);
  const record = (event: LegEvent) => {
    events.push(event);
    onEvent(event);
  };
  const base = { url: options.url, clean: true, protocol: options.protocol ?? 4 };

  let delivered: (d: Delivery & { at: number }) => void = () => undefined;
  const firstDelivery = new Promise<Delivery & { at: number }>((resolve) => (delivered = resolve));
  const sub: Connection = await connect({ ...base, clientId: subscriberId }, (e) => record({ ...e, leg: 'subscriber' }), (client) =>
    collectDeliveries(client, (d) => delivered({ ...d, at: performance.now() })),
  );
  let pub: Connection | undefined;
  const proxyLog: ProxyLog | null = options.fault ? { cuts: [], dropped: [] } : null;
  let proxy: FaultProxy | null = null;
  try {
    const subscription = await subscribe(sub, options.topic, options.subscribeQos);
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
    pub = await connect(publisher, (e) => record({ ...e, leg: 'publisher' }));
    const job = { topic: options.topic, qos: options.publishQos, message: options.message, count: 1, interval: 0, retain: false };
    const acknowledged = firstDelivery.then(async (d) => {
      await d.acknowledged;
      return d;
    });
    const published = publishAll(pub, job).then(
      () => null,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    let problem = await Promise.race([published, sub.lost]);
    const delivery = await Promise.race([within(acknowledged, problem ? NOTHING_WAIT_MS : DELIVERY_WAIT_MS), sub.lost]);
    if (!delivery && !problem) problem = `nothing reached the subscriber within ${DELIVERY_WAIT_MS} ms of the publisher's last packet`;
    proxy?.calm(); // a timer cut during the goodbye would show nothing but the ending
    await Promise.all([pub.client.connected ? pub.end() : pub.client.end(true), sub.end()]);
    let kept: ExchangeResult['delivery'] = null;
    if (delivery) {
      const { acknowledged: _, ...rest } = delivery;
      kept = rest;
    }
    return { publisherId, subscriberId, granted: subscription.granted, delivery: kept, problem, events, proxy: proxyLog };
  } catch (error) {
    sub.client.end(true);
    pub?.client.end(true);
    throw error;
  } finally {
    await proxy?.close();
  }
}
