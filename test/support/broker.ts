// A fresh embedded broker per test on a free loopback port, closed after it,
// recording what its tap saw.
import type { TestContext } from 'node:test';
import { startBroker, type EmbeddedBroker } from '../../src/broker/embedded';
import type { BrokerPacketEvent } from '../../src/mqtt/packet-event';

export interface TestBroker extends EmbeddedBroker {
  events: BrokerPacketEvent[];
}

export async function testBroker(t: TestContext): Promise<TestBroker> {
  const events: BrokerPacketEvent[] = [];
  const broker = await startBroker({ port: 0, onPacket: (e) => events.push(e) });
  t.after(() => broker.close());
  return { ...broker, events };
}
