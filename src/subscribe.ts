#!/usr/bin/env node
// subscribe-with-qos: subscribe at a QoS level, print every packet, and say
// at which QoS each message really arrived and why.
import { runMain } from './cli/main';
import { parseSubscribe, TOOL_NAMES } from './cli/options';
import { makePrinter } from './cli/printer';
import { withConnection } from './cli/session';
import { CliError, EXIT } from './cli/errors';
import { parseQos, type QoS } from './mqtt/qos';
import { collectDeliveries, subscribe, type Delivery } from './mqtt/subscriber';
import { startFaultLink } from './faults/fault-link';
import { describeDelivery, describeGrant, explainDelivery } from './cli/notes';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseSubscribe(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  const printer = makePrinter(options.output);
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

  const fault = options.fault ? await startFaultLink(options.connection, options.fault, printer.note) : undefined;
  try {
    return await withConnection(
      fault?.connection ?? options.connection,
      printer,
      async (conn) => {
        const subscription = await subscribe(conn, options.topic, options.qos);
        granted = parseQos(subscription.granted) ?? options.qos;
        printer.note(describeGrant(subscription));
        const waits: Promise<void>[] = [enough, conn.lost];
        if (options.timeout !== undefined) waits.push(timeout(options.timeout, () => received, options.count));
        await Promise.race(waits);
      },
      (client) => {
        fault?.prepare(client);
        collectDeliveries(client, onDelivery);
      },
    );
  } finally {
    await fault?.close();
  }
}

function timeout(seconds: number, received: () => number, count: number | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      const got = received();
      if (got > 0 && count === undefined) return resolve();
      const wanted = count === undefined ? 'no message arrived' : `${got} of ${count} messages arrived`;
      reject(new CliError(`timed out: ${wanted} within ${seconds} s`, EXIT.timeout));
    }, seconds * 1000).unref();
  });
}

if (require.main === module) runMain(TOOL_NAMES.subscribe, main);
