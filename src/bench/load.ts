// The load test: one subscriber (the same connect/collectDeliveries code the
// CLI uses, minus printing a line per message) takes `rate` messages a second
// for `seconds` from a publisher process, through a broker in its own process.
// It reports received, lost (sequence numbers that never arrived) and the
// subscriber's memory at start and end.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { extname, join } from 'node:path';
import type { BrokerKind } from '../broker/kind';
import { startMosquitto } from '../broker/mosquitto';
import { connect } from '../mqtt/connection';
import type { QoS } from '../mqtt/qos';
import { collectDeliveries, subscribe } from '../mqtt/subscriber';
import { account, newTally, record, seqOf } from './accounting';
import type { PublisherJob, PublisherReport } from './load-publisher';
import { within } from '../lab/wait';

export interface LoadOptions {
  seconds: number;
  rate: number;
  qos: QoS;
  engine: BrokerKind;
}

interface Broker {
  url: string;
  close(): Promise<void>;
}

const MB = 1024 * 1024;
/** After the publisher is done, how long to wait for stragglers before counting the rest as lost. */
const DRAIN_MS = 5000;

export async function runLoad(options: LoadOptions, print: (line: string) => void): Promise<{ lost: number }> {
  const broker = await startBrokerProcess(options.engine);
  const topic = 'load/t';
  try {
    // The publisher sends at most rate × seconds; how many it really sent is known only at the end.
    const tally = newTally(options.rate * options.seconds);
    const distinct = () => tally.deliveries - tally.duplicated - tally.foreign;
    let lastAt = 0;
    let allIn: () => void = () => undefined;
    let expected = Infinity;
    const complete = new Promise<void>((resolve) => (allIn = resolve));
    const sub = await connect({ url: broker.url, clientId: `load-sub-${process.pid}`, clean: true, protocol: 4 }, () => undefined, (client) =>
      collectDeliveries(client, (d) => {
        record(tally, seqOf(d.payload));
        lastAt = performance.now();
        if (distinct() >= expected) allIn();
      }),
    );
    await subscribe(sub, topic, options.qos);
    global.gc?.();
    const before = process.memoryUsage();
    print(`${options.engine} broker at ${broker.url}; publishing ${options.rate} msg/s for ${options.seconds} s at QoS ${options.qos}`);
    print(`memory at start: rss ${(before.rss / MB).toFixed(1)} MB, heap used ${(before.heapUsed / MB).toFixed(1)} MB`);

    const samples: string[] = [];
    const sampler = setInterval(() => samples.push(`${(process.memoryUsage().rss / MB).toFixed(0)}`), 10_000);
    const started = performance.now();
    let report: PublisherReport;
    try {
      report = await runPublisher({ url: broker.url, topic, qos: options.qos, rate: options.rate, seconds: options.seconds });
      expected = report.sent;
      if (distinct() >= expected) allIn();
      await within(complete, DRAIN_MS);
    } catch (error) {
      sub.client.end(true);
      throw error;
    } finally {
      clearInterval(sampler);
    }
    const took = ((lastAt || started) - started) / 1000;
    global.gc?.();
    const afterRun = process.memoryUsage();
    await sub.end();

    const counted = account({ ...tally, expected: report.sent });
    const { lost } = counted;
    print(`sent ${report.sent} in ${report.seconds.toFixed(1)} s (${(report.sent / report.seconds).toFixed(0)} msg/s), acknowledged to the publisher ${report.acked}`);
    print(`received ${counted.unique}, the last ${took.toFixed(1)} s after publishing began; lost ${lost}, duplicates ${counted.duplicated}`);
    print(`memory at end: rss ${(afterRun.rss / MB).toFixed(1)} MB, heap used ${(afterRun.heapUsed / MB).toFixed(1)} MB (rss every 10 s: ${samples.join(', ') || '-'} MB)`);
    return { lost };
  } finally {
    await broker.close();
  }
}

function runPublisher(job: PublisherJob): Promise<PublisherReport> {
  const file = join(__dirname, `load-publisher${extname(__filename)}`);
  const child = spawn(process.execPath, [...process.execArgv, file, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return once(child, 'close').then(([code]) => {
    if (code !== 0) throw new Error(`the load publisher exited with code ${code}`);
    return JSON.parse(out) as PublisherReport;
  });
}

/** The broker in its own process, so its memory is not counted as the subscriber's. */
async function startBrokerProcess(engine: LoadOptions['engine']): Promise<Broker> {
  // mosquitto's default per-client queue (1000) would drop messages at the broker: lift it, we measure the client.
  if (engine === 'mosquitto') return startMosquitto({ config: ['max_queued_messages 0', 'max_inflight_messages 0'] });
  const file = join(__dirname, '..', `broker${extname(__filename)}`);
  const child = spawn(process.execPath, [...process.execArgv, file, '--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const found = /listening on (\S+);/.exec(out);
      if (found) resolve(found[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the broker exited (${code}) before it listened`)));
  });
  return {
    url,
    close: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      await exited;
    },
  };
}
