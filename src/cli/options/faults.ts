// npm run scenario and npm run chaos: the broker they start, and the chaos check's load.
import type { Argv } from 'yargs';
import { BROKER_KINDS, MULTI_NODE, type BrokerKind } from '../../broker/kind';
import { asFlag, legBrokerFlags, nodesFlags } from './broker';
import type { ChaosOptions } from '../../chaos/chaos';
import { parseFault, type FaultSpec } from '../../wire/fault';
import { UsageError } from '../errors';
import { runCount } from './bench';
import { connectionOptions, connectionSettings, type ConnectionGroup } from './connection';
import type { ConnectionSettings } from '../../mqtt/connection';
import { brokerUrl, canonicalHost, isLoopbackHost, isPublicBrokerHost, urlHost } from './broker-url';
import { COMMANDS, defaulted, display, displayOptions, engineFlag, engineOption, integer, SINGLE_BROKER_KINDS, MAX_TIMER_MS, parseRaw, printable, qosList, refuseShort, single, withExamples, type Display, type Example, type Parsed } from './parse';

/**
 * Their connection flags: no TLS (they reach the broker through a plain TCP
 * proxy, mqtt:// only) and no -V (their sessions are MQTT 3.1.1's).
 */
const GROUPS: ConnectionGroup[] = ['credentials', 'keepalive'];

/** --engine for the commands that start their own broker on loopback. */
function labEngineOption(y: Argv, kinds: readonly BrokerKind[] = SINGLE_BROKER_KINDS): Argv {
  return engineOption(connectionOptions(y, GROUPS), `which broker to start on loopback: ${kinds.join(', ')} (mosquitto must be installed)`, 'aedes', kinds).option('broker', {
    alias: 'b',
    type: 'string',
    describe: 'a running broker (URL or host[:port]) instead of starting one; --engine is then not allowed',
  });
}

/** Every command with both says so in these words. */
export const BROKER_OR_ENGINE = '--engine and --broker exclude each other: --engine starts a broker, --broker names a running one';

/** --broker, for a command that starts its own broker otherwise: not with --engine, and (a flood) never a public test broker. */
export function ownBrokerFlag(raw: Record<string, unknown>, argv: readonly string[]): string | undefined {
  const text = single(raw, 'broker');
  if (text === undefined) return undefined;
  // --engine has a default, so only the command line says whether it was given.
  if (argv.some((a) => a === '--engine' || a.startsWith('--engine='))) throw new UsageError(BROKER_OR_ENGINE);
  // The old spelling of --engine: say so rather than dial test.mosquitto.org.
  if ((BROKER_KINDS as readonly string[]).includes(text)) throw new UsageError(`--broker '${text}' names a running broker; to start ${text} on loopback, use --engine ${text}`);
  const url = brokerUrl(text);
  if (isPublicBrokerHost(urlHost(url))) throw new UsageError(`--broker '${canonicalHost(urlHost(url))}': this command floods its broker; run it against your own, not a public test broker`);
  // No TLS or WebSocket options here, and chaos and scenario reach the broker through a plain TCP proxy.
  if (!url.startsWith('mqtt://')) throw new UsageError(`--broker '${text}': this command speaks plain MQTT over TCP only (mqtt://)`);
  // These commands cut connections and flood their broker: only one on this machine.
  const host = urlHost(url);
  if (!isLoopbackHost(host)) throw new UsageError(`--broker: host '${host}' is not this machine (loopback); this command cuts and floods its broker, so it runs against one on 127.0.0.1 or ::1 only`);
  return url;
}

export const SCENARIOS = ['offline'] as const;

export const SCENARIO_EXAMPLES: readonly Example[] = [
  ['$0 offline', 'a subscriber goes offline while messages are published at each QoS: what it gets when it comes back'],
  ['$0 offline --engine mosquitto', 'the same through mosquitto'],
  ['$0 offline -b 127.0.0.1:1884 -u alice -P secret', 'against a running broker on this machine that wants a password'],
];

const DEFAULT_CHAOS_FAULT = 'every:200-500:1';

export const CHAOS_EXAMPLES: readonly Example[] = [
  ['$0', `10000 messages at each QoS, every connection cut as --fault ${DEFAULT_CHAOS_FAULT} does`],
  ['$0 --qos 1,2 -C 2000 --fault every:100-300:42', 'QoS 1 and 2 only, 2000 messages each, cuts 100-300 ms apart drawn from seed 42'],
  ['$0 --engine mosquitto --burst', 'no cuts: the subscriber is offline while all are published (shows the queue limit)'],
  ['$0 -b 127.0.0.1:1884 -C 500', 'against a running broker on this machine'],
];

export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioCliOptions {
  name: ScenarioName;
  engine: BrokerKind;
  /** A running broker instead of starting one. */
  broker?: string;
  connection: ConnectionSettings;
  display: Display;
}

export function parseScenario(argv: string[], env: NodeJS.ProcessEnv = process.env): Parsed<ScenarioCliOptions> {
  const raw = parseRaw(COMMANDS.scenario, `Run a scenario against a broker started on loopback. Scenarios: ${SCENARIOS.join(', ')}.`, argv, (y) =>
    // Unknown flags stay errors; the scenario's name is a positional word.
    withExamples(labEngineOption(displayOptions(y)), SCENARIO_EXAMPLES).strict(false).strictOptions(),
  );
  if (!raw) return { kind: 'shown' };
  const names = (raw._ as unknown[]).map(String);
  if (names.length !== 1) throw new UsageError(`name one scenario (${SCENARIOS.join(', ')}), got ${names.length === 0 ? 'none' : `'${names.join(' ')}'`}`);
  const name = names[0]!;
  if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`unknown scenario '${printable(name)}', use ${SCENARIOS.join(', ')}`);
  const broker = ownBrokerFlag(raw, argv);
  return { kind: 'run', options: { name: name as ScenarioName, engine: engineFlag(raw), broker, connection: connectionSettings(raw, broker ?? 'mqtt://127.0.0.1', env), display: display(raw) } };
}

/** chaos's -n was its count; -n is an empty payload on the publisher (mosquitto_pub's), so the count is spelt one way everywhere. */
export const CHAOS_N = "-n is not a chaos flag: the message count is --count N (or -C N); -n is the publisher's empty payload, as in mosquitto_pub";

export function parseChaos(argv: string[], env: NodeJS.ProcessEnv = process.env): Parsed<ChaosOptions> {
  refuseShort(argv, 'n', CHAOS_N);
  const raw = parseRaw(
    COMMANDS.chaos,
    'Send numbered messages at each QoS through a proxy that keeps cutting the connections, and count what arrived: lost, duplicated, out of order.',
    argv,
    (y) =>
      withExamples(labEngineOption(y, BROKER_KINDS)
        .option('count', { alias: 'C', type: 'string', default: '10000', describe: 'messages per QoS level (-C, as mosquitto_sub\'s count)' })
        .option('qos', { alias: 'q', type: 'string', default: '0,1,2', describe: 'QoS levels to run, comma separated' })
        .option('fault', { type: 'string', describe: `cut every connection after MIN-MAX milliseconds, drawn from SEED (the same SEED cuts at the same moments): every:MS[-MS][:SEED] as on the tools (default ${DEFAULT_CHAOS_FAULT})` })
        .option('cut', { type: 'string', describe: 'MIN-MAX: the old spelling of --fault every:MIN-MAX (still works)' })
        .option('seed', { type: 'string', describe: 'N: the old spelling of the :SEED of --fault (still works)' })
        .option('rate', { type: 'string', default: '2000', describe: 'messages per second at most, so each QoS level runs long enough to meet the cuts' })
        .option('burst', {
          type: 'boolean',
          default: false,
          describe: 'no cuts: the subscriber is offline while all messages are published, then comes back (shows a broker queue limit)',
        })
        .option('restart-node', { type: 'string', describe: 'with --engine aedes-cluster or mosquitto-bridge: stop node A or B once per QoS level at a seeded moment and start it again 1 s later (default B; none for no restart)' })
        .option('pub-broker', { type: 'string', describe: "the publisher's running broker, with --sub-broker: the subscriber's (loopback, mqtt://)" })
        .option('sub-broker', { type: 'string', describe: "the subscriber's running broker, with --pub-broker" })
        .option('nodes', { type: 'string', describe: 'with --engine aedes-cluster: how many nodes (2 to 8; default 2)' })
        .option('bridge-qos', { type: 'string', describe: "with --engine mosquitto-bridge: the bridge's QoS, 0, 1 or 2 (default 1)" }), CHAOS_EXAMPLES),
  );
  if (!raw) return { kind: 'shown' };
  const qos = qosList('qos', defaulted(raw, 'qos'));
  const fault = chaosFault(raw);
  const { seed } = fault;
  const broker = ownBrokerFlag(raw, argv);
  const engine = engineFlag(raw);
  // Each leg's broker is checked as --broker is: loopback, plain MQTT, never a public one.
  const legs = legBrokerFlags(raw, argv, (flag, text) => asFlag(flag, () => ownBrokerFlag({ broker: text }, [])!));
  const multi = !legs && broker === undefined && MULTI_NODE.includes(engine);
  const restartText = single(raw, 'restart-node');
  if (restartText !== undefined && !multi) throw new UsageError('--restart-node goes with --engine aedes-cluster or mosquitto-bridge: it stops and starts a node the command runs');
  const restart = (restartText ?? (multi ? 'B' : 'none')).toUpperCase();
  if (restart !== 'A' && restart !== 'B' && restart !== 'NONE') throw new UsageError(`--restart-node must be A, B or none, got '${printable(restartText ?? '')}'`);
  return {
    kind: 'run',
    options: {
      engine,
      ...nodesFlags(raw, multi ? engine : undefined),
      ...(legs && { legs }),
      ...(restart !== 'NONE' && { restartNode: restart }),
      broker,
      connection: connectionSettings(raw, legs?.pubUrl ?? broker ?? 'mqtt://127.0.0.1', env),
      count: runCount(defaulted(raw, 'count')),
      qos,
      cut: { minMs: fault.minMs, maxMs: fault.maxMs },
      seed,
      burst: Boolean(raw.burst),
      rate: integer('rate', defaulted(raw, 'rate'), 1),
    },
  };
}


type EveryFault = Extract<FaultSpec, { kind: 'every' }>;

/** chaos's cuts: --fault every:… (the tools' grammar), its old spelling --cut MIN-MAX / --seed N, or the default. */
function chaosFault(raw: Record<string, unknown>): EveryFault {
  const [text, cut, seed] = [single(raw, 'fault'), single(raw, 'cut'), single(raw, 'seed')];
  const given = text !== undefined ? 'fault' : cut !== undefined ? 'cut' : seed !== undefined ? 'seed' : undefined;
  if (given && raw.burst) throw new UsageError(`--burst cuts nothing: give --burst or --${given}, not both`);
  if (text !== undefined && (cut !== undefined || seed !== undefined)) throw new UsageError(`--${cut !== undefined ? 'cut' : 'seed'} is the old spelling of part of --fault: give --fault every:MIN-MAX:SEED alone`);
  if (text !== undefined) {
    const fault = parseFault(text);
    if (typeof fault === 'string') throw new UsageError(`--fault ${fault}`);
    if (fault.kind !== 'every') throw new UsageError(`--fault: chaos cuts on a timer, so it takes every:MS[-MS][:SEED], got '${printable(text)}'`);
    if (fault.maxMs > MAX_TIMER_MS) throw new UsageError(`--fault every: cuts at most ${MAX_TIMER_MS} ms apart (what a timer can wait), got '${printable(text)}'`);
    return fault;
  }
  const fallback = parseFault(DEFAULT_CHAOS_FAULT) as EveryFault;
  let range = { minMs: fallback.minMs, maxMs: fallback.maxMs };
  if (cut !== undefined) {
    // MIN-MAX only: the seed has its own flag, so a ':SEED' here would be silently ignored.
    const every = /^\d+(-\d+)?$/.test(cut) ? parseFault(`every:${cut}`) : 'not MIN-MAX';
    if (typeof every === 'string' || every.kind !== 'every') throw new UsageError(`--cut must be MIN-MAX milliseconds with 1 <= MIN <= MAX, got '${printable(cut)}'`);
    if (every.maxMs > MAX_TIMER_MS) throw new UsageError(`--cut must be at most ${MAX_TIMER_MS} milliseconds (what a timer can wait), got '${printable(cut)}'`);
    range = { minMs: every.minMs, maxMs: every.maxMs };
  }
  const seedValue = seed === undefined ? fallback.seed : integer('seed', seed, 0);
  if (seedValue > 0xffffffff) throw new UsageError(`--seed must be below 2^32, got '${seedValue}'`);
  return { kind: 'every', ...range, seed: seedValue };
}
