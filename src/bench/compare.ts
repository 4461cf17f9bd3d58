// bench:compare: this bench, a bare MQTT.js publisher/subscriber and the C
// client (mosquitto_pub -l feeding mosquitto_sub -C N) against one mosquitto
// on loopback, same count, window and payload, the order rotating each round,
// ratios per QoS.
//
// All three are timed the same way, from the subscriber's clock: first delivery
// to last delivery (mosquitto_sub stamps each line with -F %U). Process start
// and connecting are left out for all. A run that lost messages (stock mosquitto
// drops what a subscriber more than max_queued_messages behind would get, after
// acknowledging it) is no throughput figure: it is reported apart, run again,
// and the medians and ratios are taken over clean runs only.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { start, type StartedBroker } from '../broker/start';
import { adopt } from '../broker/children';
import { LIMITS, within } from '../mqtt/wait';
import type { BenchOptions } from './levels';
import { InputError, MqttError } from '../mqtt/errors';
import type { QoS } from '../mqtt/qos';
import { payloadFor, seqOf } from '../numbered/payload';
import { account, newTally, record, type Accounting } from '../numbered/tally';
import { measureBare } from './bare';
import { rateText, table } from './report';
import { measureLevel } from './run';
import { median, rate } from './stats';

/** The bench's message options, plus how many rounds. */
export interface CompareOptions extends Pick<BenchOptions, 'levels' | 'count' | 'size' | 'window'> {
  rounds: number;
}

export interface Measured {
  msgPerSec: number;
  accounting: Accounting;
  /** This process's CPU time (user + system) per message sent, µs; absent for the C client (other processes). */
  cpuUsPerMsg?: number;
}

export type Contender = 'ours' | 'bare' | 'c';

export const CONTENDER_NAMES: Record<Contender, string> = { ours: 'ours', bare: 'bare MQTT.js', c: 'C client' };

/** A run that lost or duplicated messages measured a broker dropping them, not throughput. */
export function isClean(m: Measured): boolean {
  return m.accounting.lost === 0 && m.accounting.duplicated === 0;
}

/** How often a round that lost messages is run again before it is given up as dropped. */
const RETRIES = 2;
const IDLE_MS = 5_000;
let runs = 0;

/** Distinct messages per second between the first and the last delivery. */
function spanRate(unique: number, first: number, last: number): number {
  return unique > 1 ? rate(unique - 1, last - first) : 0;
}

/** Runs `job`, with this process's CPU time per message beside its result. */
async function timedCpu(count: number, job: () => Promise<Omit<Measured, 'cpuUsPerMsg'>>): Promise<Measured> {
  const before = process.cpuUsage();
  const m = await job();
  const cpu = process.cpuUsage(before);
  return { ...m, cpuUsPerMsg: (cpu.user + cpu.system) / count };
}

async function ours(broker: StartedBroker, qos: QoS, o: CompareOptions): Promise<Measured> {
  const n = runs++;
  return timedCpu(o.count, async () => {
    const s = await measureLevel({ url: broker.url, qos, count: o.count, size: o.size, window: o.window, idleMs: IDLE_MS, topic: `compare/ours/${n}`, clientId: `cmp-ours-${process.pid}-${n}` });
    return { msgPerSec: spanRate(s.accounting.unique, s.firstReceive, s.lastReceive), accounting: s.accounting };
  });
}

async function bare(broker: StartedBroker, qos: QoS, o: CompareOptions): Promise<Measured> {
  const n = runs++;
  return timedCpu(o.count, async () => {
    const s = await measureBare({ url: broker.url, qos, count: o.count, size: o.size, window: o.window, idleMs: IDLE_MS, answerMs: LIMITS.answerMs, topic: `compare/bare/${n}`, clientId: `cmp-bare-${process.pid}-${n}` });
    return { msgPerSec: spanRate(s.accounting.unique, s.firstReceive, s.lastReceive), accounting: s.accounting };
  });
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

const RUNNERS: Record<Contender, (broker: StartedBroker, qos: QoS, o: CompareOptions) => Promise<Measured>> = { ours, bare, c: cClient };

/** What the rounds of one QoS level gave each contender: clean runs, and the runs that lost messages. */
export type LevelRuns = Record<Contender, { clean: Measured[]; dropped: Measured[] }>;

function lossText(m: Measured): string {
  const a = m.accounting;
  const parts = [a.lost && `lost ${a.lost} of ${a.expected}`, a.ackedButLost && `${a.ackedButLost} of them acknowledged`, a.duplicated && `${a.duplicated} duplicates`].filter(Boolean);
  return parts.join(', ');
}

/** The order of round `round`: each contender goes first in turn. */
export function roundOrder(round: number): Contender[] {
  const all: Contender[] = ['ours', 'bare', 'c'];
  return all.map((_, i) => all[(i + round) % all.length]!);
}

/** Runs every round and prints each as it ends, then the medians over clean runs. */
export async function runCompare(o: CompareOptions, print: (line: string) => void): Promise<Map<QoS, LevelRuns>> {
  for (const tool of ['mosquitto_pub', 'mosquitto_sub']) {
    if (spawnSync(tool, ['--help']).error) throw new InputError(`${tool} is not installed (run 'bash scripts/install-mosquitto.sh')`);
  }
  const broker = await start('mosquitto', { config: ['log_type subscribe'] });
  const empty = (): LevelRuns => ({ ours: { clean: [], dropped: [] }, bare: { clean: [], dropped: [] }, c: { clean: [], dropped: [] } });
  const got = new Map<QoS, LevelRuns>(o.levels.map((q) => [q, empty()]));
  try {
    print(`bench:compare: ${o.count} messages of ${o.size} B, window ${o.window}, ${o.rounds} round(s), ${broker.name} ${broker.url}`);
    for (let round = 0; round < o.rounds; round++) {
      for (const qos of o.levels) {
        const slot = got.get(qos)!;
        const figures: string[] = [];
        for (const who of roundOrder(round)) {
          let m: Measured | undefined;
          for (let attempt = 0; attempt <= RETRIES; attempt++) {
            m = await RUNNERS[who](broker, qos, o);
            if (isClean(m)) break;
            slot[who].dropped.push(m);
            print(`  round ${round + 1} QoS ${qos}: ${CONTENDER_NAMES[who]} ${lossText(m)} (the broker dropped them): not counted${attempt < RETRIES ? ', run again' : ''}`);
          }
          if (m && isClean(m)) slot[who].clean.push(m);
          figures.push(`${CONTENDER_NAMES[who]} ${m && isClean(m) ? `${rateText(m.msgPerSec)} msg/s` : 'no clean run'}`);
        }
        print(`  round ${round + 1} QoS ${qos}: ${figures.join(', ')}`);
      }
    }
  } finally {
    await broker.close();
  }
  print('');
  print(summary(got));
  return got;
}

/** Medians over clean runs only, the ratios, and this process's CPU per message. */
export function summary(got: Map<QoS, LevelRuns>): string {
  const med = (runs: Measured[], value: (m: Measured) => number | undefined) => {
    const values = runs.map(value).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  const rateCell = (v: number | undefined) => (v === undefined ? '-' : rateText(v));
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);
  const cpu = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
  const rows: string[][] = [];
  const dropped: string[] = [];
  for (const [qos, level] of got) {
    const [o, b, c] = (['ours', 'bare', 'c'] as const).map((who) => med(level[who].clean, (m) => m.msgPerSec));
    const clean = (['ours', 'bare', 'c'] as const).map((who) => level[who].clean.length).join('/');
    rows.push([`QoS ${qos}`, rateCell(o), rateCell(b), rateCell(c), ratio(o, c), ratio(o, b), cpu(med(level.ours.clean, (m) => m.cpuUsPerMsg)), cpu(med(level.bare.clean, (m) => m.cpuUsPerMsg)), clean]);
    for (const who of ['ours', 'bare', 'c'] as const) {
      if (level[who].dropped.length) dropped.push(`  QoS ${qos} ${CONTENDER_NAMES[who]}: ${level[who].dropped.map(lossText).join('; ')}`);
    }
  }
  const lines = [
    'median msg/s over clean runs (first to last delivery); CPU: this process, µs per message',
    table(['', 'ours', 'bare MQTT.js', 'C client', 'ours/C', 'ours/bare', 'CPU ours', 'CPU bare', 'clean runs'], rows),
  ];
  if (dropped.length) lines.push('', 'runs not counted (messages lost: the broker dropped them)', ...dropped);
  return lines.join('\n');
}
