// The subscriber tool's own work: subscribe, show each delivery with the QoS
// it really came at and why, stop after --count or --timeout.
import { CliError, EXIT } from './errors';
import { describeDelivery, describeGrant, explainDelivery } from './notes';
import type { SubscribeOptions } from './options';
import type { Printer } from './printer';
import type { Tool } from './session';
import { parseQos, type QoS } from '../mqtt/qos';
import { collectDeliveries, subscribe, type Delivery } from '../mqtt/subscriber';

export function receiver(options: SubscribeOptions, printer: Printer): Tool {
  let granted: QoS = options.qos;
  let received = 0;
  let timedOut: CliError | undefined;
  let finish: () => void = () => undefined;
  const enough = new Promise<void>((resolve) => (finish = resolve));

  const onDelivery = (delivery: Delivery) => {
    received++;
    const text = delivery.payload.toString();
    printer.note(describeDelivery(received, delivery, printer.shared ? text : undefined));
    if (!printer.shared) printer.payload(text);
    const why = explainDelivery(delivery.qos, granted);
    if (why) printer.note(`  ${why}`);
    // Exit only once our PUBACK/PUBCOMP is on the wire: MQTT.js emits 'message' before it acks.
    if (options.count !== undefined && received === options.count) void delivery.acknowledged.then(finish);
  };

  return {
    prepare: (client) => collectDeliveries(client, onDelivery),
    work: async (conn) => {
      // The clock starts before SUBSCRIBE: a broker that never answers it is a timeout too.
      const seconds = options.timeout;
      const expired =
        seconds === undefined ? new Promise<void>(() => undefined) : delay(seconds).then(() => void (timedOut = timeoutError(seconds, received, options.count)));
      const subscription = await Promise.race([subscribe(conn, options.topic, options.qos), expired]);
      if (subscription === undefined) return;
      granted = parseQos(subscription.granted) ?? options.qos;
      printer.note(describeGrant(subscription));
      await Promise.race([enough, conn.lost, expired]);
    },
    // Reported after DISCONNECT went out: running out of time is no reason to drop the connection.
    after: () => {
      if (timedOut) throw timedOut;
    },
  };
}

function delay(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000).unref());
}

/** Undefined when the wait was a success: some messages came and no --count was asked for. */
function timeoutError(seconds: number, received: number, count: number | undefined): CliError | undefined {
  if (received > 0 && count === undefined) return undefined;
  const what = count === undefined ? 'no message arrived' : `${received} of ${count} messages arrived`;
  return new CliError(`timed out: ${what} within ${seconds} s`, EXIT.timeout);
}
