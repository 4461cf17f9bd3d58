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
import { collectDeliveries, matchesFilter, subscribeAll, type Collector, type Delivery } from '../mqtt/subscriber';
import { within } from '../mqtt/wait';

export function receiver(options: SubscribeOptions, printer: Printer): Tool {
  // --timeout counts from here, before CONNECT: connect, SUBACK and the messages share it.
  const started = performance.now();
  const grants = new Map<string, QoS>();
  let received = 0;
  let finish: () => void = () => undefined;
  const enough = new Promise<void>((resolve) => (finish = resolve));
  let collector: Collector | undefined;
  // Why messages are no longer taken: --count reached, or nobody reads stdout any more.
  let stoppedBecause = '';
  // A session kept on the broker: with MQTT 5 only if it outlives the connection.
  const persistent = !options.connection.clean && (options.connection.protocol === 4 || (options.connection.sessionExpiry ?? 0) > 0);

  const onDelivery = (delivery: Delivery) => {
    received++;
    const matching = options.topics.filter((filter) => matchesFilter(filter, delivery.topic));
    const older = matching.length === 0;
    printer.note(describeDelivery(received, delivery, printer.shared ? delivery.payload.toString() : undefined, older));
    if (options.json) printer.line(messageJson(delivery));
    else if (!printer.shared) printer.payload(delivery.payload);
    // With overlapping filters the broker may send at the highest QoS granted to any of them.
    const granted = Math.max(-1, ...matching.map((filter) => grants.get(filter) ?? -1));
    const why = granted < 0 ? null : explainDelivery(delivery.qos, granted as QoS);
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
      const subscriptions = await bounded(subscribeAll(conn, options.topics, options.qos, options.ackTimeoutMs));
      if (subscriptions === CLOSED) return;
      // Out of time is an error thrown from here: the session then says DISCONNECT at once, without
      // giving the handshakes in flight (this SUBSCRIBE, a QoS 2 delivery) more time than --timeout had.
      if (subscriptions === null) {
        const topics = options.topics.map((t) => `'${escapeText(t)}'`).join(', ');
        throw new CliError(`timed out: no SUBACK for our SUBSCRIBE to ${topics} within ${seconds} s (--timeout)`, EXIT.timeout);
      }
      for (const subscription of subscriptions) {
        const qos = parseQos(subscription.granted);
        if (qos !== null) grants.set(subscription.topic, qos);
        printer.note(describeGrant(subscription));
      }
      const done = await bounded(Promise.race([enough, conn.lost]).then(() => true));
      if (done === CLOSED) return;
      const timedOut = done === null && seconds !== undefined ? timeoutError(seconds, received, options.count) : undefined;
      if (timedOut) throw timedOut;
    },
  };
}

const CLOSED = Symbol('closed');

/**
 * --json: one message as one line of JSON. The payload is its text when the
 * bytes are UTF-8, else base64 (and "encoding" says so); `time` is when it arrived.
 */
function messageJson(d: Delivery, at = new Date()): string {
  const text = d.payload.toString('utf8');
  const utf8 = Buffer.from(text, 'utf8').equals(d.payload);
  const record = { topic: d.topic, qos: d.qos, retain: d.retain, payload: utf8 ? text : d.payload.toString('base64'), ...(!utf8 && { encoding: 'base64' }), time: at.toISOString() };
  // JSON.stringify leaves DEL, C1 controls and the line separators as they are: escape them too, so a terminal shows text.
  return JSON.stringify(record).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Undefined when the wait was a success: some messages came and no --count was asked for. */
function timeoutError(seconds: number, received: number, count: number | undefined): CliError | undefined {
  if (received > 0 && count === undefined) return undefined;
  const what = count === undefined ? 'no message arrived' : `${received} of ${count} messages arrived`;
  return new CliError(`timed out: ${what} within ${seconds} s`, EXIT.timeout);
}
