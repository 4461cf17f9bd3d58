// The subscriber tool's own work: subscribe, show each delivery with the QoS
// it really came at and why, stop after --count or --timeout.
import { performance } from 'node:perf_hooks';
import { CliError, EXIT } from './errors';
import { describeDelivery, describeGrant, describeRefused, explainDelivery } from './notes';
import type { SubscribeOptions } from './options';
import type { Printer } from './printer';
import type { Tool } from './session';
import { escapeText } from '../mqtt/format';
import { parseQos, type QoS } from '../mqtt/qos';
import { collectDeliveries, matchesFilter, subscribe, type Collector, type Delivery } from '../mqtt/subscriber';
import { within } from '../mqtt/wait';

export function receiver(options: SubscribeOptions, printer: Printer): Tool {
  // --timeout counts from here, before CONNECT: connect, SUBACK and the messages share it.
  const started = performance.now();
  let granted: QoS = options.qos;
  let received = 0;
  let timedOut: CliError | undefined;
  let finish: () => void = () => undefined;
  const enough = new Promise<void>((resolve) => (finish = resolve));
  let collector: Collector | undefined;
  // Why messages are no longer taken: --count reached, or nobody reads stdout any more.
  let stoppedBecause = '';
  // A session kept on the broker: with MQTT 5 only if it outlives the connection.
  const persistent = !options.connection.clean && (options.connection.protocol === 4 || (options.connection.sessionExpiry ?? 0) > 0);

  const onDelivery = (delivery: Delivery) => {
    received++;
    const older = !matchesFilter(options.topic, delivery.topic);
    printer.note(describeDelivery(received, delivery, printer.shared ? delivery.payload.toString() : undefined, older));
    if (!printer.shared) printer.payload(delivery.payload);
    const why = explainDelivery(delivery.qos, granted);
    if (why) printer.note(`  ${why}`);
    if (options.count !== undefined && received === options.count) {
      // Nothing after this one is handed on or acknowledged: it stays with the broker.
      stoppedBecause = `--count ${options.count} was reached`;
      collector?.stop();
      // Exit only once our PUBACK/PUBCOMP is on the wire: MQTT.js emits 'message' before it acks.
      void delivery.acknowledged.then(finish);
    }
  };

  void printer.stdoutClosed.then(() => {
    // Nobody reads what we print any more: taking more would acknowledge messages no one sees.
    stoppedBecause = 'stdout was closed';
    collector?.stop();
    finish();
  });

  return {
    prepare: (client) => {
      collector = collectDeliveries(client, onDelivery, (refused) => printer.note(describeRefused(refused, stoppedBecause, persistent)));
    },
    work: async (conn) => {
      // SUBSCRIBE gets what is left of --timeout: a broker that never answers it is a timeout too.
      const seconds = options.timeout;
      // One deadline for the whole run: each wait gets what is left of it.
      // Ended from outside (Ctrl-C, SIGTERM): the waits end with the connection, so no --timeout timer outlives it.
      const closed = conn.ended.then((): typeof CLOSED => CLOSED);
      const bounded = <T>(promise: Promise<T>): Promise<T | null | typeof CLOSED> => {
        const untilClosed = Promise.race([promise, closed]);
        return seconds === undefined ? untilClosed : within(untilClosed, Math.max(0, seconds * 1000 - (performance.now() - started)));
      };
      const subscription = await bounded(subscribe(conn, options.topic, options.qos, options.ackTimeoutMs));
      if (subscription === CLOSED) return;
      if (subscription === null) {
        timedOut = new CliError(`timed out: no SUBACK for our SUBSCRIBE to '${escapeText(options.topic)}' within ${seconds} s (--timeout)`, EXIT.timeout);
        return;
      }
      granted = parseQos(subscription.granted) ?? options.qos;
      printer.note(describeGrant(subscription));
      const done = await bounded(Promise.race([enough, conn.lost]).then(() => true));
      if (done === CLOSED) return;
      if (done === null && seconds !== undefined) timedOut = timeoutError(seconds, received, options.count);
    },
    // Reported after DISCONNECT went out: running out of time is no reason to drop the connection.
    after: () => {
      if (timedOut) throw timedOut;
    },
  };
}

const CLOSED = Symbol('closed');

/** Undefined when the wait was a success: some messages came and no --count was asked for. */
function timeoutError(seconds: number, received: number, count: number | undefined): CliError | undefined {
  if (received > 0 && count === undefined) return undefined;
  const what = count === undefined ? 'no message arrived' : `${received} of ${count} messages arrived`;
  return new CliError(`timed out: ${what} within ${seconds} s`, EXIT.timeout);
}
