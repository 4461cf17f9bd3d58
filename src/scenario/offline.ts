// The persistent-session scenario: a subscriber subscribes and leaves, QoS 0,
// 1 and 2 messages are published while it is away, and it comes back. Run
// with clean=false (the session and its queue survive) and clean=true (they
// do not). Every line is a real packet of a client or of the broker's wire.
import { connect as connectBounded, END_GRACE_MS, stopClient, type Connection, type ConnectionOptions, type ConnectionSettings, type PacketListener } from '../mqtt/connection';
import { formatBrokerPacket, formatPacket, paint, type Style } from '../mqtt/format';
import type { BrokerPacketEvent, PacketEvent } from '../mqtt/packet-event';
import { QOS_LEVELS, type QoS } from '../mqtt/qos';
import { collectDeliveries, subscribe as subscribeBounded, type Delivery } from '../mqtt/subscriber';
import { start, type BrokerKind } from '../broker/start';
import type { BrokerPacketListener } from '../wire/tap';
import { startRelay, upstreamOf } from '../wire/relay';
import type { Packet } from 'mqtt-packet';
import { orTimeout, secondsText, within } from '../mqtt/wait';
import { MqttError } from '../mqtt/errors';
import { LIMITS, type Limits } from '../mqtt/wait';
import type { Address } from '../broker/listen';
import { createConnection } from 'node:net';

const TOPIC = 'lab/offline';
const MARKER = 'marker: published after the subscriber came back';
const LANE_WIDTH = 11;

export interface OfflineOutcome {
  clean: boolean;
  sessionPresent: boolean;
  /** What the returning subscriber got before the marker, in order. */
  delivered: { payload: string; qos: number; queued: boolean }[];
}

type Print = (line: string) => void;

/** The broker to start (an engine), or a running one's URL, seen through a tap proxy in front of it. */
export type ScenarioBroker = ({ engine: BrokerKind } | { url: string }) & { connection?: ConnectionSettings };

export async function runOfflineScenario(where: ScenarioBroker, style: Style, print: Print, limits: Limits = LIMITS): Promise<OfflineOutcome[]> {
  let watching = new Set<string>();
  const lane = (who: string, text: string) => print(`  ${paint(who.padEnd(LANE_WIDTH), 'dim', style.color)}| ${text}`);
  const onBrokerPacket = (e: BrokerPacketEvent) => {
    if (watching.has(e.clientId)) lane('broker', formatBrokerPacket(e, style));
  };
  const broker = 'engine' in where ? await start(where.engine, { onPacket: onBrokerPacket }) : await tapped(where.url, onBrokerPacket, limits.answerMs);
  // Errors name the broker the user gave, not the tap in front of it.
  const named = 'engine' in where ? broker.url : where.url;
  const outcomes: OfflineOutcome[] = [];
  const { answerMs } = limits;
  // Every client this run opens; a failure part-way drops the ones still open, so nothing keeps the process alive.
  const open = new Set<Connection>();
  const connect = async (options: ConnectionOptions, onPacket: PacketListener, prepare?: (client: Connection['client']) => void) => {
    const conn = await connectBounded({ ...options, connectTimeoutMs: answerMs, brokerName: named }, onPacket, prepare);
    open.add(conn);
    return conn;
  };
  const end = async (conn: Connection) => {
    open.delete(conn);
    await conn.end(Math.min(answerMs, END_GRACE_MS));
  };
  const subscribe = (conn: Connection, topic: string, qos: QoS) => subscribeBounded(conn, topic, qos, answerMs, null);
  const publish = async (conn: Connection, payload: string, qos: QoS) => {
    let pubrec = false;
    const onReceive = (packet: Packet) => (pubrec ||= packet.cmd === 'pubrec');
    conn.client.on('packetreceive', onReceive);
    try {
      const done = await within(Promise.race([conn.client.publishAsync(TOPIC, payload, { qos }), conn.lost]).then(() => true), answerMs);
      const missing = qos === 0 ? 'room on the socket' : qos === 1 ? 'PUBACK' : pubrec ? 'PUBCOMP' : 'PUBREC';
      if (done === null) throw new MqttError('timeout', `no ${missing} from the broker at ${named} for the QoS ${qos} message '${payload}' within ${secondsText(answerMs)}`);
    } finally {
      conn.client.off('packetreceive', onReceive);
    }
  };
  try {
    print(`broker: ${broker.name} on ${broker.url}\n`);
    for (const clean of [false, true]) {
      const subId = `scenario-sub-clean-${clean}`;
      const pubId = `scenario-pub-clean-${clean}`;
      watching = new Set([subId, pubId]);
      const log = (who: string) => (e: PacketEvent) => lane(who, formatPacket(e, style));
      const base = { ...where.connection, url: broker.url, protocol: 4 as const };
      print(`clean=${clean}: the subscriber subscribes at QoS 2, then disconnects`);
      const first = await connect({ ...base, clientId: subId, clean }, log('subscriber'));
      await subscribe(first, TOPIC, 2);
      await end(first);

      print(`\nwhile it is away, the publisher sends one message at each QoS`);
      const pub = await connect({ ...base, clientId: pubId, clean: true }, log('publisher'));
      for (const qos of QOS_LEVELS) await publish(pub, `QoS ${qos} message`, qos);

      print(
        clean
          ? `\nthe subscriber comes back (clean=true) and must subscribe again; then the publisher sends a marker`
          : `\nthe subscriber comes back (clean=false) without subscribing: the session kept its subscription; then the publisher sends a marker`,
      );
      const delivered: OfflineOutcome['delivered'] = [];
      const settle = settled();
      const onDelivery = (d: Delivery) => {
        const payload = d.payload.toString();
        if (payload === MARKER) void d.acknowledged.then(settle.markerDone);
        else delivered.push({ payload, qos: d.qos, queued: d.queued });
      };
      const back: Connection = await connect({ ...base, clientId: subId, clean }, log('subscriber'), (client) => {
        collectDeliveries(client, onDelivery);
        settle.watch(client);
      });
      if (clean) await subscribe(back, TOPIC, 2);
      // Anything queued arrives before the marker: the broker sends the stored queue right after CONNACK.
      await publish(pub, MARKER, 1);
      await orTimeout(Promise.race([settle.done, back.lost]), answerMs, `the returning subscriber did not get the marker (and finish every QoS 2 flow) from the broker at ${named}`);
      await Promise.all([end(back), end(pub)]);

      const outcome = { clean, sessionPresent: back.connack.sessionPresent, delivered };
      outcomes.push(outcome);
      for (const line of offlineSummary(outcome)) print(paint(line, 'note', style.color));
      print('');
    }
  } finally {
    watching = new Set();
    for (const conn of open) stopClient(conn.client);
    await broker.close();
  }
  return outcomes;
}

/** A running broker behind a tap proxy, so its side of the wire is printed as for the brokers we start. */
async function tapped(url: string, onPacket: BrokerPacketListener, ms: number): Promise<{ name: string; url: string; close(): Promise<void> }> {
  const upstream = upstreamOf(url);
  await reachable(url, upstream, ms);
  const proxy = await startRelay({ upstream, onPacket });
  return { name: `${url} seen through the tap`, url: proxy.url, close: proxy.close };
}


/** What the run showed, in words, from the recorded outcome. */
function offlineSummary(outcome: OfflineOutcome): string[] {
  const lines = [`=> clean=${outcome.clean}: CONNACK sessionPresent=${outcome.sessionPresent}`];
  for (const qos of QOS_LEVELS) {
    const got = outcome.delivered.filter((d) => d.payload === `QoS ${qos} message`);
    const how = got.length === 0 ? 'gone' : `delivered${got.some((d) => d.queued) ? ' (queued while offline)' : ''}${got.length > 1 ? ` ${got.length} times` : ''}`;
    lines.push(`   QoS ${qos} message: ${how}`);
  }
  const got = (qos: number) => outcome.delivered.some((d) => d.payload === `QoS ${qos} message`);
  const expected = outcome.clean ? !outcome.sessionPresent && !got(0) && !got(1) && !got(2) : outcome.sessionPresent && !got(0) && got(1) && got(2);
  const why = !expected
    ? 'not what a persistent session should do: see the packet lines above'
    : outcome.clean
      ? 'clean=true ended the session at DISCONNECT: no subscription and no queue survived'
      : 'the session survived: the broker kept the subscription and queued QoS 1 and 2 (it does not queue QoS 0 for an offline client)';
  lines.push(`   ${why}`);
  return lines;
}

/**
 * Resolves once the marker has been acknowledged and no QoS 2 flow is half
 * done: a queued QoS 2 message reaches the application only at PUBREL, which
 * may come after the marker.
 */
function settled(): { watch(client: Connection['client']): void; markerDone(): void; done: Promise<void> } {
  const open = new Set<number>();
  let marker = false;
  let resolve: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolve = r));
  const check = () => {
    if (marker && open.size === 0) resolve();
  };
  return {
    done,
    markerDone: () => {
      marker = true;
      check();
    },
    watch: (client) => {
      client.on('packetreceive', (p) => {
        if (p.cmd === 'publish' && p.qos === 2 && p.messageId !== undefined) open.add(p.messageId);
      });
      client.on('packetsend', (p) => {
        if (p.cmd === 'pubcomp' && p.messageId !== undefined) open.delete(p.messageId);
        check();
      });
    },
  };
}

/** A TCP connection to the broker opens within `ms`: otherwise the tap would only show its own side closing. */
async function reachable(url: string, target: Address, ms: number): Promise<void> {
  const socket = createConnection(target);
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  try {
    if ((await within(opened, ms)) === null) throw new MqttError('timeout', `cannot reach the broker at ${url}: no TCP connection within ${secondsText(ms)}`);
  } catch (error) {
    if (error instanceof MqttError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new MqttError('unreachable', `cannot reach the broker at ${url}: ${code === 'ECONNREFUSED' ? 'connection refused' : (code ?? (error as Error).message)}`);
  } finally {
    socket.destroy();
  }
}
