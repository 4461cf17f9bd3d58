// bench:compare: this bench and the C client (mosquitto_pub -l feeding
// mosquitto_sub -C N) against one mosquitto on loopback, same count, window and
// payload, alternating which goes first, ratio per QoS.
//
// Both are timed the same way, from the subscriber's clock: first delivery to
// last delivery (mosquitto_sub stamps each line with -F %U). Process start and
// connecting are left out for both.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { start, type StartedBroker } from '../broker/start';
import { adopt } from '../broker/children';
import { within } from '../mqtt/wait';
import type { BenchOptions } from './levels';
import { InputError, MqttError } from '../mqtt/errors';
import type { QoS } from '../mqtt/qos';
import { payloadFor, seqOf } from '../numbered/payload';
import { account, newTally, record, type Accounting } from '../numbered/tally';
import { rateText } from './report';
import { measureLevel } from './run';
import { median, rate } from './stats';

/** The bench's message options, plus how many alternating rounds. */
export interface CompareOptions extends Pick<BenchOptions, 'levels' | 'count' | 'size' | 'window'> {
  rounds: number;
}

interface Measured {
  msgPerSec: number;
  accounting: Accounting;
}

const IDLE_MS = 10_000;
let runs = 0;

/** Distinct messages per second between the first and the last delivery. */
function spanRate(unique: number, first: number, last: number): number {
  return unique > 1 ? rate(unique - 1, last - first) : 0;
}

async function ours(broker: StartedBroker, qos: QoS, o: CompareOptions): Promise<Measured> {
  const n = runs++;
  const s = await measureLevel({ url: broker.url, qos, count: o.count, size: o.size, window: o.window, idleMs: IDLE_MS, topic: `compare/ours/${n}`, clientId: `cmp-ours-${process.pid}-${n}` });
  return { msgPerSec: spanRate(s.accounting.unique, s.firstReceive, s.lastReceive), accounting: s.accounting };
}

async function cClient(broker: StartedBroker, qos: QoS, o: CompareOptions): Promise<Measured> {
  const n = runs++;
  const topic = `compare/c/${n}`;
  const subId = `cmp-c-${process.pid}-${n}-sub`;
  const where = ['-h', broker.host, '-p', String(broker.port), '-t', topic, '-q', String(qos)];
  const sub = spawn('mosquitto_sub', [...where, '-C', String(o.count), '-F', '%U %p', '-i', subId], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stopSub = adopt(sub);
  let out = '';
  let lastData = performance.now();
  sub.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('latin1');
    lastData = performance.now();
  });
  const exited = once(sub, 'exit');
  // mosquitto logs each subscription (log_type subscribe): publish only after it.
  const logLine = `${subId} ${qos} ${topic}`;
  const subscribedBy = performance.now() + IDLE_MS;
  while (!broker.log().includes(logLine)) {
    if (sub.exitCode !== null) throw new MqttError('unreachable', `mosquitto_sub exited (${sub.exitCode}) before subscribing`);
    if (performance.now() > subscribedBy) {
      await stopSub();
      throw new MqttError('timeout', `mosquitto_sub did not subscribe within ${IDLE_MS / 1000} s`);
    }
    await sleep(10);
  }

  const pub = spawn('mosquitto_pub', [...where, '-l', '-M', String(o.window), '-i', `cmp-c-${process.pid}-${n}-pub`], { stdio: ['pipe', 'ignore', 'inherit'] });
  const stopPub = adopt(pub);
  const lines: Buffer[] = [];
  for (let seq = 0; seq < o.count; seq++) lines.push(payloadFor(seq, o.size), Buffer.from('\n'));
  pub.stdin.end(Buffer.concat(lines));
  lastData = performance.now();
  // mosquitto_sub -C N waits forever for a lost message: stop it when nothing arrives for a while.
  const idle = setInterval(() => {
    if (performance.now() - lastData > IDLE_MS) sub.kill('SIGTERM');
  }, 250);
  try {
    // The idle check ends mosquitto_sub; mosquitto_pub gets as long again after that before it is stopped.
    await within(Promise.all([exited, once(pub, 'exit')]), 2 * IDLE_MS + o.count);
  } finally {
    clearInterval(idle);
    await Promise.all([stopSub(), stopPub()]);
  }

  const tally = newTally(o.count);
  let first = Infinity;
  let last = -Infinity;
  for (const line of out.split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const at = Number(line.slice(0, space)) * 1000;
    if (!record(tally, seqOf(Buffer.from(line.slice(space + 1), 'latin1')))) continue;
    first = Math.min(first, at);
    last = Math.max(last, at);
  }
  const accounting = account(tally);
  return { msgPerSec: spanRate(accounting.unique, first, last), accounting };
}

function lossText(runs: Measured[]): string {
  const lost = runs.reduce((sum, r) => sum + r.accounting.lost, 0);
  const dup = runs.reduce((sum, r) => sum + r.accounting.duplicated, 0);
  return lost || dup ? ` (lost ${lost}, dup ${dup})` : '';
}

/** Runs every round and prints each as it ends, then the medians. */
export async function runCompare(o: CompareOptions, print: (line: string) => void): Promise<void> {
  for (const tool of ['mosquitto_pub', 'mosquitto_sub']) {
    if (spawnSync(tool, ['--help']).error) throw new InputError(`${tool} is not installed (run 'bash scripts/install-mosquitto.sh')`);
  }
  const broker = await start('mosquitto', { config: ['log_type subscribe'] });
  const got = new Map<QoS, { ours: Measured[]; c: Measured[] }>(o.levels.map((q) => [q, { ours: [], c: [] }]));
  try {
    print(`bench:compare: ${o.count} messages of ${o.size} B, window ${o.window}, ${o.rounds} round(s), mosquitto ${broker.url}`);
    for (let round = 0; round < o.rounds; round++) {
      for (const qos of o.levels) {
        const slot = got.get(qos)!;
        const runOurs = async () => slot.ours.push(await ours(broker, qos, o));
        const runC = async () => slot.c.push(await cClient(broker, qos, o));
        for (const step of round % 2 === 0 ? [runOurs, runC] : [runC, runOurs]) await step();
        const [a, c] = [slot.ours.at(-1)!, slot.c.at(-1)!];
        print(`  round ${round + 1} QoS ${qos}: ours ${rateText(a.msgPerSec)} msg/s, C client ${rateText(c.msgPerSec)} msg/s`);
      }
    }
  } finally {
    await broker.close();
  }
  print('\nmedian msg/s (first to last delivery)');
  for (const [qos, { ours: a, c }] of got) {
    const [mo, mc] = [median(a.map((r) => r.msgPerSec)), median(c.map((r) => r.msgPerSec))];
    print(`  QoS ${qos}: ours ${rateText(mo)}${lossText(a)}  C client ${rateText(mc)}${lossText(c)}  ratio ${(mo / mc).toFixed(2)}x`);
  }
}
