// The one broker start: start(engine, options) in src/broker/start.ts, and the
// entries' shape (every entry but the lesson's two lives in src/bin/, ≤ 40 lines).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import mqtt from 'mqtt';
import { start } from '../../src/broker/start';
import type { BrokerPacketEvent } from '../../src/mqtt/packet-event';
import { ROOT } from '../support/cli';
import { needsMosquitto } from '../support/mosquitto';

async function connectOnce(url: string): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: 'start-probe', reconnectPeriod: 0, connectTimeout: 5000 });
  await client.endAsync();
}

test('start(aedes) taps every packet and names itself', async (t) => {
  const events: BrokerPacketEvent[] = [];
  const broker = await start('aedes', { onPacket: (e) => events.push(e) });
  t.after(() => broker.close());
  assert.equal(broker.name, 'aedes (embedded)');
  assert.equal(broker.host, '127.0.0.1');
  assert.equal(broker.upstream, undefined);
  await connectOnce(broker.url);
  assert.ok(events.some((e) => e.direction === 'receive' && e.packet.cmd === 'connect'));
  assert.ok(events.some((e) => e.direction === 'send' && e.packet.cmd === 'connack'));
});

test('start(mosquitto) with a tap: clients reach the proxy, mosquitto stays on loopback behind it', needsMosquitto, async (t) => {
  const events: BrokerPacketEvent[] = [];
  const broker = await start('mosquitto', { onPacket: (e) => events.push(e) });
  t.after(() => broker.close());
  assert.match(broker.name, /^mosquitto \d/);
  assert.ok(broker.upstream?.startsWith('mqtt://127.0.0.1:'), broker.upstream);
  assert.notEqual(broker.upstream, broker.url);
  await connectOnce(broker.url);
  assert.ok(events.some((e) => e.direction === 'receive' && e.packet.cmd === 'connect'));
});

test('start(mosquitto) without a tap: no proxy in front of it', needsMosquitto, async (t) => {
  const broker = await start('mosquitto', { config: ['log_type subscribe'] });
  t.after(() => broker.close());
  assert.equal(broker.upstream, undefined);
  await connectOnce(broker.url);
});

test('every entry but the lesson two is in src/bin/, ≤ 40 lines, and package.json runs them from there', () => {
  const bin = readdirSync(join(ROOT, 'src', 'bin')).filter((f) => f.endsWith('.ts'));
  assert.deepEqual(bin.sort(), ['bench.ts', 'broker.ts', 'chaos.ts', 'compare.ts', 'lab.ts', 'load-broker.ts', 'load-publisher.ts', 'load.ts', 'probe.ts', 'scenario.ts', 'startup.ts', 'web.ts']);
  for (const file of bin) {
    const lines = readFileSync(join(ROOT, 'src', 'bin', file), 'utf8').trimEnd().split('\n').length;
    assert.ok(lines <= 40, `src/bin/${file} has ${lines} lines`);
  }
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
  for (const [name, script] of Object.entries(pkg.scripts)) {
    for (const path of script.match(/src\/\S+\.ts/g) ?? []) assert.ok(path.startsWith('src/bin/'), `${name}: ${path}`);
  }
  assert.deepEqual(pkg.bin, { 'publish-with-qos': 'dist/publish.js', 'subscribe-with-qos': 'dist/subscribe.js', 'mqtt-qos-bench': 'dist/bin/bench.js', 'mqtt-qos-probe': 'dist/bin/probe.js' });
});
