// Connect and subscribe for the commands that drive a broker (scenario, chaos,
// bench, load), bounded with within(): a broker that never answers gets an error
// naming what never came (a timeout), never a hang. Their ends are Connection.end(graceMs).
import type { MqttClient } from 'mqtt';
import { MqttError } from '../mqtt/errors';
import { orTimeout, secondsText, within } from '../mqtt/wait';
import { connect, type Connection, type ConnectionOptions, type PacketListener } from '../mqtt/connection';
import type { QoS } from '../mqtt/qos';
import { subscribe, type Subscription } from '../mqtt/subscriber';

/** How long a command waits for any one answer from the broker: CONNACK, SUBACK, an acknowledgement, the end of a DISCONNECT. */
export interface Limits {
  answerMs: number;
}

export const LIMITS: Limits = { answerMs: 10_000 };

/**
 * connect(), bounded: no CONNACK within `ms` ends the client and is an error.
 * A packet the client cannot parse (MQTT.js only emits 'error' and keeps the
 * socket) closes the connection and makes `lost` reject as a violation (exit 6).
 * `broker` names the broker in errors (the chaos clients dial a proxy).
 */
export async function connectWithin(
  options: ConnectionOptions,
  onPacket: PacketListener,
  ms: number,
  prepare?: (client: MqttClient) => void,
  broker = options.url,
): Promise<Connection> {
  let client: MqttClient | undefined;
  let violated: MqttError | undefined;
  let malformed: (error: MqttError) => void = () => undefined;
  const violation = new Promise<never>((_, reject) => (malformed = reject));
  violation.catch(() => undefined);
  let connackTimeout = false;
  const onError = (error: Error) => {
    // MQTT.js's own connect timer (connection.ts sets it to about ours): the same wait running out.
    if (error.message === 'connack timeout') connackTimeout = true;
    // A parse error leaves the socket open (MQTT.js only emits it); socket and MQTT.js errors end in 'close' on their own.
    if (!PARSE_ERROR.test(error.message) || violated) return;
    violated = new MqttError('violation', `the broker at ${broker} sent a malformed packet (${error.message}); we closed the connection`);
    malformed(violated);
    client?.stream.destroy();
  };
  const pending = connect(options, onPacket, (c) => {
    client = c;
    c.on('error', onError);
    // connect() replaces the error listeners at CONNACK: listen again, before the rest of CONNACK's chunk is parsed.
    c.once('connect', () => c.on('error', onError));
    prepare?.(c);
  });
  // A parse error while connecting fails connect() as "cannot reach": it is the broker's violation.
  const outcome = pending.catch((error: unknown) => {
    if (violated) throw violated;
    if (connackTimeout) return null; // reported below, as our own timeout
    throw error;
  });
  const conn = await within(outcome, ms);
  if (conn === null) {
    client?.end(true);
    throw new MqttError('timeout', `no CONNACK from the broker at ${broker} within ${secondsText(ms)}`);
  }
  // The violation, not the 'closed the connection' that our own close then causes.
  const lost = Promise.race([violation, conn.lost.catch((error: unknown) => Promise.reject(violated ?? error))]);
  lost.catch(() => undefined);
  return { ...conn, lost };
}

/** mqtt-packet's parser errors (node_modules/mqtt-packet/parser.js): the bytes the broker sent are not MQTT. */
const PARSE_ERROR = /^(Invalid |Malformed |Cannot parse |Packet too short|Packet must not|Not supported|Unknown property|Will (QoS|Retain)|Connect flag)/;

/** subscribe(), bounded. */
export function subscribeWithin(conn: Connection, topic: string, qos: QoS, ms: number, broker: string): Promise<Subscription> {
  const subscribed = subscribe(conn, topic, qos).catch(async (error: unknown) => {
    if (conn.client.connected) throw error; // a refusal (SUBACK 0x80)
    // MQTT.js fails a pending SUBSCRIBE with "Connection closed" before our 'lost' hears of the close: say what happened.
    const why = await within(conn.lost.catch((lost: unknown) => lost), 0);
    throw why ?? new MqttError('lost', `the broker at ${broker} closed the connection before its SUBACK for '${topic}'`);
  });
  return orTimeout(subscribed, ms, `no SUBACK from the broker at ${broker} for the subscription to '${topic}'`);
}

