// One real exchange: a subscriber at one QoS, a publisher at another, one
// message through a broker. Every packet of both clients (and of the broker,
// when it is ours and tapped) is recorded as it happens.
import { connect, type Connection } from '../mqtt/connection';
import type { PacketEvent } from '../mqtt/packet-event';
import { publishAll } from '../mqtt/publisher';
import type { QoS } from '../mqtt/qos';
import { collectDeliveries, subscribe, type Delivery } from '../mqtt/subscriber';

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
}

export interface ExchangeResult {
  publisherId: string;
  subscriberId: string;
  granted: number;
  delivery: Omit<Delivery, 'acknowledged'>;
  events: LegEvent[];
}

/** The client ids an exchange will use, so a broker tap can pick out its connections. */
export function exchangeIds(idPrefix: string): { publisherId: string; subscriberId: string } {
  return { publisherId: `${idPrefix}-pub`, subscriberId: `${idPrefix}-sub` };
}

/** Runs one exchange; `onEvent` sees each client packet as it happens. */
export async function runExchange(options: ExchangeOptions, onEvent: (event: LegEvent) => void = () => undefined): Promise<ExchangeResult> {
  const events: LegEvent[] = [];
  const { publisherId, subscriberId } = exchangeIds(options.idPrefix);
  const record = (event: LegEvent) => {
    events.push(event);
    onEvent(event);
  };
  const base = { url: options.url, clean: true, protocol: 4 as const };

  let delivered: (d: Delivery) => void = () => undefined;
  const firstDelivery = new Promise<Delivery>((resolve) => (delivered = resolve));
  const sub: Connection = await connect({ ...base, clientId: subscriberId }, (e) => record({ ...e, leg: 'subscriber' }), (client) =>
    collectDeliveries(client, (d) => delivered(d)),
  );
  let pub: Connection | undefined;
  try {
    const subscription = await subscribe(sub, options.topic, options.subscribeQos);
    pub = await connect({ ...base, clientId: publisherId }, (e) => record({ ...e, leg: 'publisher' }));
    const job = { topic: options.topic, qos: options.publishQos, message: options.message, count: 1, interval: 0, retain: false };
    const acknowledged = firstDelivery.then(async (d) => {
      await d.acknowledged;
      return d;
    });
    const [, delivery] = await Promise.race([Promise.all([publishAll(pub, job), acknowledged]), sub.lost, pub.lost]);
    await Promise.all([pub.end(), sub.end()]);
    const { acknowledged: _, ...rest } = delivery;
    return { publisherId, subscriberId, granted: subscription.granted, delivery: rest, events };
  } catch (error) {
    sub.client.end(true);
    pub?.client.end(true);
    throw error;
  }
}
