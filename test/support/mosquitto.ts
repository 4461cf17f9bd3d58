// mosquitto for tests: started per test, closed after it. Where it is not
// installed the test skips and says so, unless REQUIRE_MOSQUITTO=1 (CI), where it fails.
import type { TestContext } from 'node:test';
import { mosquittoPath, startMosquitto, type MosquittoBroker, type MosquittoOptions } from '../../src/broker/mosquitto';
import { start, type StartedBroker } from '../../src/broker/start';
import type { BrokerPacketEvent } from '../../src/mqtt/packet-event';

export const HAVE_MOSQUITTO = mosquittoPath() !== null;
const REQUIRED = process.env.REQUIRE_MOSQUITTO === '1';

/** Options for test(): skip with a reason when mosquitto is missing and not required. */
export const needsMosquitto = {
  skip: !HAVE_MOSQUITTO && !REQUIRED ? "mosquitto is not installed (bash scripts/install-mosquitto.sh); REQUIRE_MOSQUITTO=1 makes this fail" : false,
};

export async function testMosquitto(t: TestContext, options: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const broker = await startMosquitto(options);
  t.after(() => broker.close());
  return broker;
}

/** mosquitto behind the tap proxy: `url` is the proxy's, `events` what crossed it. */
export async function testTappedMosquitto(t: TestContext, options: MosquittoOptions = {}): Promise<StartedBroker & { events: BrokerPacketEvent[] }> {
  const events: BrokerPacketEvent[] = [];
  const broker = await start('mosquitto', { ...options, onPacket: (e) => events.push(e) });
  t.after(() => broker.close());
  return { ...broker, events };
}
