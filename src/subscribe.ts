#!/usr/bin/env node
// subscribe-with-qos: subscribe at a QoS level, print every packet, and say
// at which QoS each message really arrived and why.
import { runMain } from './cli/main';
import { parseSubscribe, TOOL_NAMES } from './cli/options';
import { makePrinter } from './cli/printer';
import { tracedPrinter } from './lab/trace';
import { withConnection } from './cli/session';
import { CliError, EXIT } from './cli/errors';
import { parseQos, type QoS } from './mqtt/qos';
import { collectDeliveries, subscribe, type Delivery } from './mqtt/subscriber';
import { describeDelivery, describeGrant, explainDelivery } from './cli/notes';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseSubscribe(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  const traced = tracedPrinter(makePrinter(options.output), options.output.json, 'subscriber', options.connection.protocol);
  const { printer } = traced;
  let granted: QoS = options.qos;
  let received = 0;
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

  let timedOut: CliError | undefined;
  const code = await withConnection(
    options.connection,
    printer,
    async (conn) => {
      const subscription = await subscribe(conn, options.topic, options.qos);
      granted = parseQos(subscription.granted) ?? options.qos;
      printer.note(describeGrant(subscription));
      const waits: Promise<void>[] = [enough, conn.lost];
      if (options.timeout !== undefined) {
        waits.push(timeout(options.timeout).then(() => void (timedOut = timeoutError(options.timeout!, received, options.count))));
      }
      await Promise.race(waits);
    },
    (client) => collectDeliveries(client, onDelivery),
  ).finally(traced.close);
  // Reported after DISCONNECT went out: running out of time is no reason to drop the connection.
  if (timedOut && code === EXIT.ok) throw timedOut;
  return code;
}

function timeout(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000).unref());
}

/** Undefined when the wait was a success: some messages came and no --count was asked for. */
function timeoutError(seconds: number, received: number, count: number | undefined): CliError | undefined {
  if (received > 0 && count === undefined) return undefined;
  const what = count === undefined ? 'no message arrived' : `${received} of ${count} messages arrived`;
  return new CliError(`timed out: ${what} within ${seconds} s`, EXIT.timeout);
}

if (require.main === module) runMain(TOOL_NAMES.subscribe, main);
