// The battery: start (or name) the broker, put the recorder in front of it, ask
// each question in turn, and hand back the card. A question that cannot be
// measured says so on its line; it never ends the run.
import { performance } from 'node:perf_hooks';
import type { BrokerKind } from '../broker/kind';
import { start, type StartedBroker } from '../broker/start';
import type { QoS } from '../mqtt/qos';
import { connect, type ConnectionSettings } from '../mqtt/connection';
import { MqttError } from '../mqtt/errors';
import type { TraceWriter } from '../mqtt/trace';
import { upstreamOf } from '../wire/relay';
import { QUESTION_IDS, QUESTIONS, type Answer, type QuestionId } from './answer';
import { pairs, versions } from './handshakes';
import { PROBE_LIMITS, QUICK_SIZES, SIZES, type Across, type Probe, type ProbeLimits } from './probe';
import { startRecorder } from './recorder';
import { expiry, offline, redelivery, retained } from './sessions';
import { burst, chaos, order } from './traffic';

export interface ProbeOptions {
  /** The broker to start on loopback when `broker` is not given. */
  engine: BrokerKind;
  /** mosquitto.conf lines for the mosquitto the probe starts (e.g. `max_qos 1`). */
  config: string[];
  /** A running broker's mqtt:// URL instead of starting one. */
  broker?: string;
  /** --pub-broker/--sub-broker: two running brokers, the publishers' (node A) and the subscribers' (node B). */
  legs?: { pubUrl: string; subUrl: string };
  /** --engine aedes-cluster: how many nodes (the probe uses A and B); mosquitto-bridge: the bridge's QoS. */
  nodes?: number;
  bridgeQos?: QoS;
  quick: boolean;
  /** Ask only these (all when absent). */
  only?: QuestionId[];
  /** -u/-P, -k for every client; a broker the probe starts then requires that login. */
  connection?: ConnectionSettings;
}

export interface ProbeReport {
  /** e.g. `aedes (embedded) on mqtt://127.0.0.1:40123`, `mosquitto 2.0.11 (max_qos 1) on ...`, or the URL. */
  broker: string;
  answers: Answer[];
  seconds: number;
  /** Packets recorded (the trace's lines). */
  records: number;
}

type Found = Omit<Answer, 'seconds'>;

/** In card order; `pairs` answers four questions from one run of the lab's nine pairs. */
const STEPS: { ids: QuestionId[]; ask: (p: Probe) => Promise<Found | Found[]> }[] = [
  { ids: ['versions'], ask: versions },
  { ids: ['granted', 'matrix', 'forward', 'pubrec'], ask: pairs },
  { ids: ['redelivery'], ask: redelivery },
  { ids: ['offline'], ask: offline },
  { ids: ['burst'], ask: burst },
  { ids: ['chaos'], ask: chaos },
  { ids: ['order'], ask: order },
  { ids: ['retained'], ask: retained },
  { ids: ['expiry'], ask: expiry },
];

export interface ProbeHooks {
  /** The broker is up and answers: its name, before the first question. */
  onBroker?(name: string): void;
  /** Each answer, as soon as it is known. */
  onAnswer?(answer: Answer): void;
}

export async function runProbe(options: ProbeOptions, hooks: ProbeHooks = {}, trace?: TraceWriter, limits: ProbeLimits = PROBE_LIMITS): Promise<ProbeReport> {
  const began = performance.now();
  const connection = options.connection ?? {};
  const { username, password } = connection;
  const login = username !== undefined && password !== undefined ? { credentials: { username, password } } : {};
  const running = options.broker ?? options.legs;
  const started = running ? null : await start(options.engine, { config: options.config, nodes: options.nodes, bridgeQos: options.bridgeQos, ...login });
  try {
    // One broker, or node A (the publishers') and node B (the subscribers').
    const [nodeA, nodeB] = started?.nodes ?? [];
    const urls = nodeA && nodeB ? [nodeA.url, nodeB.url] : options.legs ? [options.legs.pubUrl, options.legs.subUrl] : [started?.url ?? options.broker!];
    const across: Across | null = urls.length < 2 ? null : { known: started !== null, ...(started?.hop?.qos !== undefined && { bridgeQos: started.hop.qos }) };
    // Errors name the broker by its URL; the card by what it is.
    const brokerName = urls.join(' and ');
    const cardName = cardNameOf(started, urls, options.config);
    for (const url of urls) await reachable(url, url, connection, limits);
    hooks.onBroker?.(cardName);
    const rec = await startRecorder(urls.map(upstreamOf), trace);
    const p: Probe = { rec, brokerName, connection, run: `probe-${process.pid}-${Date.now().toString(36)}`, sizes: options.quick ? QUICK_SIZES : SIZES, limits, v5: false, v5Connack: null, refusedQos: new Set(), across, queueLimit: null };
    const wanted = new Set(options.only ?? QUESTION_IDS);
    const answers: Answer[] = [];
    try {
      for (const step of STEPS) {
        // The versions question always runs: the others need to know whether MQTT 5 is spoken.
        if (step.ask !== versions && !step.ids.some((id) => wanted.has(id))) continue;
        rec.ask(step.ids.join('+'));
        const t0 = performance.now();
        const found = await step.ask(p).catch((error: unknown) => step.ids.map((id) => unmeasured(id, error)));
        const seconds = Number(((performance.now() - t0) / 1000).toFixed(2));
        for (const a of [found].flat()) {
          if (!wanted.has(a.id)) continue;
          const done = { ...a, seconds };
          answers.push(done);
          hooks.onAnswer?.(done);
        }
      }
    } finally {
      await rec.close();
    }
    return { broker: cardName, answers, seconds: (performance.now() - began) / 1000, records: rec.records.length };
  } finally {
    await started?.close();
  }
}

/** The card's heading: what the broker is, or which node takes which leg and how the nodes are joined. */
function cardNameOf(started: StartedBroker | null, urls: string[], config: string[]): string {
  if (urls.length > 1) {
    const legs = `node A ${urls[0]} (publishers), node B ${urls[1]} (subscribers)`;
    return started ? `${started.name}: ${legs}; ${started.hop?.text ?? ''}` : `${legs}, joined by whatever joins them`;
  }
  if (!started) return urls[0]!;
  return `${started.name}${config.length > 0 && started.engine === 'mosquitto' ? ` (${config.join('; ')})` : ''} on ${urls[0]}`;
}

/** One plain connection first: a broker that cannot be reached or refuses us is one error line (exit 2 or 3), not twelve unmeasured answers. */
async function reachable(url: string, brokerName: string, connection: ConnectionSettings, limits: ProbeLimits): Promise<void> {
  const conn = await connect({ ...connection, url, clientId: `probe-${process.pid}-hello`, clean: true, protocol: 4, connectTimeoutMs: limits.answerMs, brokerName }, () => undefined);
  await conn.end(limits.answerMs);
}

function unmeasured(id: QuestionId, error: unknown): Found {
  const why = error instanceof Error ? error.message : String(error);
  const kind = error instanceof MqttError ? error.kind : 'error';
  return { id, question: QUESTIONS[id], verdict: 'unmeasured', fact: `could not measure: ${why}`, figures: { error: kind }, evidence: [] };
}
