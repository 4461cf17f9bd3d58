// The load test: one subscriber (the same connect/collectDeliveries code the
// CLI uses, minus printing a line per message) takes `rate` messages a second
// for `seconds` from a publisher process, through a broker in its own process.
// It reports received, lost (sequence numbers that never arrived) and the
// subscriber's memory at start and end.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { extname, join } from 'node:path';
import type { BrokerKind } from '../broker/kind';
import { adopt } from '../broker/children';
import { start } from '../broker/start';
import { ChildFailed } from '../broker/children';
import { connect, END_GRACE_MS, stopClient, type Connection } from '../mqtt/connection';
import type { QoS } from '../mqtt/qos';
import { collectDeliveries, subscribe } from '../mqtt/subscriber';
import { seqOf } from '../numbered/payload';
import { account, newTally, record } from '../numbered/tally';
import { LIMITS, type Limits } from '../mqtt/wait';
import type { PublisherJob, PublisherReport } from './load-publisher';
import { orTimeout, within } from '../mqtt/wait';

export interface LoadOptions {
  seconds: number;
  rate: number;
  qos: QoS;
  engine: BrokerKind;
  /** A running broker's URL instead of starting one. */
  broker?: string;
}

export interface LoadResult {
  lost: number;
  sent: number;
  /** Acknowledged to the publisher (QoS 0: written). */
  acked: number;
}

/** Whether the publisher got every acknowledgement or gave up waiting for some (loss is a finding, printed, not an outcome). */
export type LoadOutcome = 'acked' | 'unacked';

export function loadOutcome(result: LoadResult): LoadOutcome {
  return result.acked < result.sent ? 'unacked' : 'acked';
}

interface Broker {
  url: string;
  close(): Promise<void>;
}

const MB = 1024 * 1024;
/** After the publisher is done, how long to wait for stragglers before counting the rest as lost. */
const DRAIN_MS = 5000;

export async function runLoad(options: LoadOptions, print: (line: string) => void, limits: Limits = LIMITS): Promise<LoadResult> {
  const broker: Broker = options.broker ? { url: options.broker, close: async () => undefined } : await startBrokerProcess(options.engine, limits.answerMs);
  const topic = 'load/t';
  let sub: Connection | undefined;
  try {
    // The publisher sends at most rate × seconds; how many it really sent is known only at the end.
    const tally = newTally(options.rate * options.seconds);
    let lastAt = 0;
    let allIn: () => void = () => undefined;
    let expected = Infinity;
    const complete = new Promise<void>((resolve) => (allIn = resolve));
    sub = await connect({ url: broker.url, clientId: `load-sub-${process.pid}`, clean: true, protocol: 4, connectTimeoutMs: limits.answerMs }, () => undefined, (client) =>
      collectDeliveries(client, (d) => {
        record(tally, seqOf(d.payload));
        lastAt = performance.now();
        if (tally.unique >= expected) allIn();
      }),
    );
    await subscribe(sub, topic, options.qos, limits.answerMs, null);
    global.gc?.();
    const before = process.memoryUsage();
    print(`${options.broker ? 'the' : options.engine} broker at ${broker.url}; publishing ${options.rate} msg/s for ${options.seconds} s at QoS ${options.qos}`);
    print(`memory at start: rss ${(before.rss / MB).toFixed(1)} MB, heap used ${(before.heapUsed / MB).toFixed(1)} MB`);

    const samples: string[] = [];
    const sampler = setInterval(() => samples.push(`${(process.memoryUsage().rss / MB).toFixed(0)}`), 10_000);
    const started = performance.now();
    let report: PublisherReport;
    const publisher = startPublisher({ url: broker.url, topic, qos: options.qos, rate: options.rate, seconds: options.seconds, answerMs: limits.answerMs });
    try {
      // The subscriber's connection breaking ends the run too: nothing more can arrive.
      report = await Promise.race([publisher.report, sub.lost]);
      expected = report.sent;
      if (tally.unique >= expected) allIn();
      await within(complete, DRAIN_MS);
    } finally {
      clearInterval(sampler);
      await publisher.stop();
    }
    const took = ((lastAt || started) - started) / 1000;
    global.gc?.();
    const afterRun = process.memoryUsage();
    await sub.end(Math.min(limits.answerMs, END_GRACE_MS));
    sub = undefined;

    const counted = account(tally, undefined, report.sent);
    const { lost } = counted;
    print(`sent ${report.sent} in ${report.seconds.toFixed(1)} s (${(report.sent / report.seconds).toFixed(0)} msg/s), acknowledged to the publisher ${report.acked}`);
    print(`received ${counted.unique}, the last ${took.toFixed(1)} s after publishing began; lost ${lost}, duplicates ${counted.duplicated}`);
    print(`memory at end: rss ${(afterRun.rss / MB).toFixed(1)} MB, heap used ${(afterRun.heapUsed / MB).toFixed(1)} MB (rss every 10 s: ${samples.join(', ') || '-'} MB)`);
    if (options.qos > 0 && report.acked < report.sent) print(`the broker acknowledged ${report.acked} of ${report.sent} QoS ${options.qos} publishes; the publisher stopped waiting for the rest`);
    return { lost, sent: report.sent, acked: report.acked };
  } finally {
    if (sub) stopClient(sub.client); // only after a failure: the run ended it politely otherwise
    await broker.close();
  }
}

/** How long past its planned end the publisher process may take (connecting, catching up, its last acknowledgements). */
function publisherBoundMs(job: PublisherJob): number {
  return job.seconds * 1000 + 3 * job.answerMs + 10_000;
}

/** The publisher in its own process, ended with us on every path; its one error line becomes ours. */
function startPublisher(job: PublisherJob): { report: Promise<PublisherReport>; stop(): Promise<void> } {
  const file = join(__dirname, '..', 'bin', `load-publisher${extname(__filename)}`);
  // stdin is a pipe the publisher watches: if we die without a goodbye (SIGKILL), its end stops the publisher too.
  const child = spawn(process.execPath, [...process.execArgv, file, JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stop = adopt(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = once(child, 'close') as Promise<[number | null]>;
  const report = orTimeout(closed, publisherBoundMs(job), 'the load publisher did not finish').then(([code]) => {
    if (code !== 0) {
      const why = err.trim().split('\n').at(-1)?.replace(/^Error: /, '') || `it exited with code ${code}`;
      throw new ChildFailed(`the load publisher: ${why}`, code);
    }
    return JSON.parse(out) as PublisherReport;
  });
  report.catch(() => undefined); // raced against the subscriber's loss; whoever awaits it sees the error
  return { report, stop };
}

/** The broker in its own process, so its memory is not counted as the subscriber's. */
async function startBrokerProcess(engine: LoadOptions['engine'], readyMs: number): Promise<Broker> {
  // mosquitto's default per-client queue (1000) would drop messages at the broker: lift it, we measure the client.
  if (engine === 'mosquitto') return start('mosquitto', { config: ['max_queued_messages 0', 'max_inflight_messages 0'] });
  // aedes runs inside whoever starts it: here that must be a child process of its own.
  const file = join(__dirname, '..', 'bin', `load-broker${extname(__filename)}`);
  // stdin is a pipe the broker watches: if we die without a goodbye (SIGKILL), its end stops the broker too.
  const child = spawn(process.execPath, [...process.execArgv, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = adopt(child);
  let out = '';
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n');
      if (line.length > 1) resolve((JSON.parse(line[0]!) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`the broker process exited (${code}) before it listened`)));
  });
  try {
    // A broker process that starts slowly on a busy machine still gets several answer-times.
    const url = await orTimeout(listening, Math.max(readyMs, 10_000), 'the broker process did not start listening');
    return { url, close: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
