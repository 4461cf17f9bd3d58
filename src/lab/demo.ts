// npm start: an embedded broker on a free loopback port and one real exchange
// at QoS 0, 1 and 2, printing the packets of publisher, broker and subscriber
// in the order they happened.
import { startBroker } from '../broker/embedded';
import { formatBrokerPacket, formatPacket, paint, type Style } from '../mqtt/format';
import type { BrokerPacketEvent } from '../mqtt/packet-event';
import { QOS_LEVELS, QOS_NAMES, effectiveQos } from '../mqtt/qos';
import { exchangeIds, runExchange, type Leg } from './exchange';

const LANE_WIDTH = 11;

export async function runDemo(style: Style, print: (line: string) => void): Promise<void> {
  let watching = new Set<string>();
  let onBroker: (event: BrokerPacketEvent) => void = () => undefined;
  const broker = await startBroker({
    port: 0,
    onPacket: (event) => {
      if (watching.has(event.clientId)) onBroker(event);
    },
  });
  const lane = (leg: Leg, text: string) => print(`  ${paint(leg.padEnd(LANE_WIDTH), 'dim', style.color)}| ${text}`);
  try {
    print(`embedded broker (aedes) on ${broker.url}\n`);
    for (const qos of QOS_LEVELS) {
      print(`QoS ${qos} (${QOS_NAMES[qos]}): publish at QoS ${qos}, subscribe at QoS ${qos}`);
      const idPrefix = `demo-q${qos}`;
      const ids = exchangeIds(idPrefix);
      watching = new Set([ids.publisherId, ids.subscriberId]);
      onBroker = (event) => lane('broker', formatBrokerPacket(event, style));
      const result = await runExchange(
        { url: broker.url, publishQos: qos, subscribeQos: qos, topic: `demo/qos${qos}`, message: JSON.stringify({ data: 'test' }), idPrefix },
        (event) => lane(event.leg, formatPacket(event, style)),
      );
      print(`  delivered at QoS ${result.delivery.qos} (MIN(${qos}, ${qos}) = ${effectiveQos(qos, qos)})\n`);
    }
  } finally {
    watching = new Set();
    await broker.close();
  }
}
