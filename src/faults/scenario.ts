// The persistent-session scenario: a subscriber subscribes and leaves, QoS 0,
// 1 and 2 messages are published while it is away, and it comes back. Run
// with clean=false (the session and its queue survive) and clean=true (they
// do not). Every line is a real packet of a client or of the broker's wire.
import { connect, type Connection } from '../mqtt/connection';
import { formatBrokerPacket, formatPacket, paint, type Style } from '../mqtt/format';
import type { BrokerPacketEvent, PacketEvent } from '../mqtt/packet-event';
import { QOS_LEVELS } from '../mqtt/qos';
import { collectDeliveries, subscribe, type Delivery } from '../mqtt/subscriber';
import { startLabBroker, type BrokerKind } from '../broker/start';

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

export async function runOfflineScenario(kind: BrokerKind, style: Style, print: Print): Promise<OfflineOutcome[]> {
  let watching = new Set<string>();
  const lane = (who: string, text: string) => print(`  ${paint(who.padEnd(LANE_WIDTH), 'dim', style.color)}| ${text}`);
  const broker = await startLabBroker(kind, (e: BrokerPacketEvent) => {
    if (watching.has(e.clientId)) lane('broker', formatBrokerPacket(e, style));
  });
  const outcomes: OfflineOutcome[] = [];
  try {
    print(`broker: ${broker.name} on ${broker.url}\n`);
    for (const clean of [false, true]) {
      const subId = `scenario-sub-clean-${clean}`;
      const pubId = `scenario-pub-clean-${clean}`;
      watching = new Set([subId, pubId]);
      const log = (who: string) => (e: PacketEvent) => lane(who, formatPacket(e, style));
      const base = { url: broker.url, protocol: 4 as const };
      print(`clean=${clean}: the subscriber subscribes at QoS 2, then disconnects`);
      const first = await connect({ ...base, clientId: subId, clean }, log('subscriber'));
      await subscribe(first, TOPIC, 2);
      await first.end();

      print(`\nwhile it is away, the publisher sends one message at each QoS`);
      const pub = await connect({ ...base, clientId: pubId, clean: true }, log('publisher'));
      for (const qos of QOS_LEVELS) await pub.client.publishAsync(TOPIC, `QoS ${qos} message`, { qos });

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
      await pub.client.publishAsync(TOPIC, MARKER, { qos: 1 });
      await Promise.race([settle.done, back.lost]);
      await Promise.all([back.end(), pub.end()]);

      const outcome = { clean, sessionPresent: back.connack.sessionPresent, delivered };
      outcomes.push(outcome);
      for (const line of summarize(outcome)) print(paint(line, 'note', style.color));
      print('');
    }
  } finally {
    watching = new Set();
    await broker.close();
  }
  return outcomes;
}

/** What the run showed, in words, from the recorded outcome. */
export function summarize(outcome: OfflineOutcome): string[] {
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
