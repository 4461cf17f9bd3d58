// The bench and its two companions: bench:compare and bench:startup.
import { UsageError } from '../errors';
import { brokerUrl, canonicalHost, isLoopbackHost, isPublicBrokerHost, urlHost } from './broker-url';
import { openOutputFile, STDOUT, takesStdout, type OutputFile } from '../output-file';
import { asFlag, legBrokerFlags, legBrokerOptions } from './broker';
import { MAX_PACKET_BYTES } from './input';
import { connectionOptions, connectionSettings, protocolFlag, protocolOption } from './connection';
import { COMMANDS, defaulted, engineFlag, engineOption, filePath, integer, parseRaw, qosList, refuseShort, seconds, single, topicFlag, withExamples, type Example, type Parsed } from './parse';
import type { BenchOptions } from '../../bench/levels';
import type { CompareOptions } from '../../bench/compare';

export type { BenchOptions, CompareOptions };

export const BENCH_TOOL = COMMANDS.bench;

const DEFAULT_BENCH_TOPIC = 'mqtt-qos-lab/bench';

/** bench:compare hands its values to parseBench, so both share these. */
const DEFAULT = { qos: '0,1,2', count: '20000', sweepCount: '10000', size: '32', window: '20', idle: '5', rounds: '3', runs: '10' };

export const BENCH_EXAMPLES: readonly Example[] = [
  ['$0 --qos 1,2 -C 5000 --window 100', '5000 messages at QoS 1 and at QoS 2 through the embedded aedes, at most 100 unacknowledged'],
  ['$0 --engine mosquitto --json', 'through a mosquitto started for the run (installed); the results as one JSON object on stdout'],
  ['$0 -q 2 -C 100 --trace - 2>report.txt', 'every packet of 100 QoS 2 messages as JSON lines on stdout; the report goes to stderr'],
  ['$0 -q 0 --window 0', 'QoS 0 with no window: as fast as the socket drains'],
  ['$0 --sweep --engine mosquitto -C 2000', 'how the cost grows with the window, the payload, pairs and fan-out; 2000 deliveries per point'],
  ['$0 -b 127.0.0.1:1883 -q 1', 'against a running broker on this machine'],
];

export const COMPARE_EXAMPLES: readonly Example[] = [
  ['$0', `${DEFAULT.count} messages at each QoS, ${DEFAULT.rounds} alternating rounds of ours, bare MQTT.js and the C client (needs mosquitto, mosquitto_pub, mosquitto_sub)`],
  ['$0 -q 1 -C 5000 -r 5', 'QoS 1 only, 5000 messages a run, 5 rounds'],
  ['$0 --window 100 --size 1024', 'at most 100 in flight (mosquitto_pub -M 100), 1 KB payloads'],
];

export const STARTUP_EXAMPLES: readonly Example[] = [
  ['$0', `${DEFAULT.runs} timed runs of each command, alternating`],
  ['$0 -r 3', 'a quick look: 3 runs of each'],
  ['$0 --runs 30', 'steadier medians: 30 runs of each'],
];

/** The bench's -n was its count; -n is the publisher's empty payload (mosquitto_pub's), so the count is spelt one way everywhere. */
const countNotN = (command: string) => `-n is not a ${command} flag: the message count is --count N (or -C N); -n is the publisher's empty payload, as in mosquitto_pub`;

/** The bench's options, and whether `--trace -` took stdout (its report then goes to stderr). */
export type BenchCliOptions = BenchOptions & { traceToStdout: boolean };

/** `stdout` is the command's (io.out): where `--trace -` writes. */
export function parseBench(argv: string[], env: NodeJS.ProcessEnv = process.env, stdout: NodeJS.WritableStream = process.stdout): Parsed<BenchCliOptions> {
  refuseShort(argv, 'n', countNotN('bench'));
  const raw = parseRaw(BENCH_TOOL, 'Measure what each QoS level costs: throughput, latency and end-to-end loss from a publisher to a subscriber.', argv, (y) =>
    withExamples(engineOption(legBrokerOptions(connectionOptions(protocolOption(y, 'MQTT version of both clients: 3.1.1 or 5 (5 needs --broker or --engine mosquitto: the embedded aedes speaks 3.1.1 only)'))), 'the broker started for the run on a free loopback port: aedes (the default; embedded, in this process) or mosquitto (installed; its own process)')
      .option('broker', { alias: 'b', type: 'string', describe: 'a running broker, URL or host[:port] (default: one started for the run, see --engine)' })
      .option('qos', { alias: 'q', type: 'string', default: DEFAULT.qos, describe: 'QoS levels to run, comma-separated' })
      .option('count', { alias: 'C', type: 'string', describe: `messages per QoS level (default ${DEFAULT.count}); with --sweep, deliveries per point (default ${DEFAULT.sweepCount}). -C as mosquitto_sub's count; -n is not the count` })
      .option('size', { type: 'string', describe: `payload bytes per message, holding the sequence number (default ${DEFAULT.size}); no -s: mosquitto_pub's -s is "message from stdin"` })
      .option('window', { alias: 'w', type: 'string', describe: `most unacknowledged messages in flight, like mosquitto_pub -M (default ${DEFAULT.window}); 0 for no limit` })
      .option('idle', { type: 'string', default: DEFAULT.idle, describe: 'seconds with no delivery or ack before a run stops and reports what is missing' })
      .option('topic', { alias: 't', type: 'string', default: DEFAULT_BENCH_TOPIC, describe: 'topic to publish and subscribe on' })
      .option('json', { type: 'boolean', default: false, describe: 'print the results as one JSON object on stdout, and nothing else there (the progress bar is on stderr; --trace then needs a file name, not -)' })
      .option('sweep', { type: 'boolean', default: false, describe: 'grow one thing at a time from window 20, 32 B, 1 pair: the window (1…1000), the payload (32 B…256 KB), publisher/subscriber pairs (1…100), subscribers of one publisher (1…100); msg/s, p50/p99 and RSS for each' })
      .option('stall-after', { type: 'string', describe: 'the subscriber stops reading after this many messages until the publisher is done (shows what a broker drops)' })
      .option('allow-remote', { type: 'boolean', default: false, describe: 'allow a --broker that is not on this machine (the bench floods it; never a public test broker)' })
      .option('trace', { type: 'string', describe: 'write every packet of both clients to this file as JSON lines, the format of --trace on the lab and the tools (measures what tracing costs); - is stdout, the report then goes to stderr' }), BENCH_EXAMPLES),
  );
  if (!raw) return { kind: 'shown' };
  // --pub-broker/--sub-broker: each leg on its own broker (two nodes), each checked as --broker is.
  const legs = legBrokerFlags(raw, argv, (flag, text) => asFlag(flag, () => loadTarget(text, Boolean(raw['allow-remote']))));
  const brokerText = single(raw, 'broker');
  const engine = engineFlag(raw, 'aedes');
  if (brokerText !== undefined && single(raw, 'engine') !== undefined) throw new UsageError('give --broker or --engine, not both');
  const broker = legs?.pubUrl ?? (brokerText === undefined ? undefined : loadTarget(brokerText, Boolean(raw['allow-remote'])));
  const protocol = protocolFlag(raw);
  if (protocol === 5 && broker === undefined && engine === 'aedes') throw new UsageError('--protocol 5 needs --broker or --engine mosquitto: the embedded aedes broker speaks MQTT 3.1.1 only');
  const connection = connectionSettings(raw, broker ?? 'mqtt://127.0.0.1', env);
  const levels = qosList('qos', defaulted(raw, 'qos'));
  const sweep = Boolean(raw.sweep);
  // The sweep sets these itself, point by point: given with it, they would be ignored without a word.
  const fixed = ['size', 'window', 'stall-after', 'trace'].filter((flag) => sweep && raw[flag] !== undefined);
  if (fixed.length) throw new UsageError(`--sweep sets the window and the payload itself, point by point; --${fixed[0]} cannot be given with it`);
  const count = runCount(single(raw, 'count') ?? (sweep ? DEFAULT.sweepCount : DEFAULT.count));
  const size = integer('size', single(raw, 'size') ?? DEFAULT.size, 1);
  // A payload must fit one PUBLISH packet (topic and packet id take a few bytes of it).
  if (size > MAX_PACKET_BYTES - 65_539) throw new UsageError(`--size must be at most ${MAX_PACKET_BYTES - 65_539} bytes (an MQTT packet holds at most ${MAX_PACKET_BYTES}), got '${size}'`);
  const digits = String(count - 1).length;
  if (size < digits) throw new UsageError(`--size must be at least ${digits} to hold sequence numbers up to ${count - 1}, got '${size}'`);
  const window = integer('window', single(raw, 'window') ?? DEFAULT.window, 0);
  // Every payload in flight is a buffer of --size bytes; without a window that is every message.
  const inFlight = size * (window === 0 ? count : Math.min(window, count));
  if (inFlight > MAX_IN_FLIGHT_BYTES) {
    throw new UsageError(`--size × --window must be at most ${MAX_IN_FLIGHT_BYTES} bytes in flight (1 GiB; --window 0 means all --count at once), got ${inFlight}`);
  }
  const topic = topicFlag(raw, DEFAULT_BENCH_TOPIC);
  const stallAfter = single(raw, 'stall-after');
  const trace = filePath(raw, 'trace');
  // `-` is stdout, the report then goes to stderr; --json's one object cannot share stdout with it.
  const traceToStdout = takesStdout(trace);
  if (traceToStdout && raw.json) throw new UsageError(`--json and --trace ${STDOUT} both write to stdout: give --trace a file name`);
  // Opened now: a bad path is one line before any broker starts, not an error after the run.
  const traceFile: OutputFile | undefined = trace === undefined ? undefined : openOutputFile('trace', trace, stdout);
  return {
    kind: 'run',
    options: {
      broker,
      engine,
      ...(legs && { subBroker: legs.subUrl }),
      protocol,
      connection,
      levels,
      count,
      size,
      window,
      idle: seconds('idle', defaulted(raw, 'idle')),
      topic,
      json: Boolean(raw.json),
      sweep,
      stallAfter: stallAfter === undefined ? undefined : integer('stall-after', stallAfter, 1),
      trace: traceFile,
      traceToStdout,
    },
  };
}

/** Most payload bytes a bench keeps in flight at once. */
const MAX_IN_FLIGHT_BYTES = 2 ** 30;

/** Most messages one run keeps timings for (about 26 bytes each): beyond this memory, not the broker, is what gets measured. */
const MAX_RUN_COUNT = 10_000_000;

/** --count for a command that keeps per-message state (bench, chaos). */
export function runCount(text: string): number {
  const count = integer('count', text, 1);
  if (count > MAX_RUN_COUNT) throw new UsageError(`--count must be at most ${MAX_RUN_COUNT} (each message's state is kept in memory), got '${text}'`);
  return count;
}

/**
 * A broker for a command that floods it: on this machine, or elsewhere only
 * with --allow-remote; a public test broker never, however its host is spelled.
 */
function loadTarget(text: string, allowRemote: boolean): string {
  const url = brokerUrl(text);
  const host = urlHost(url);
  if (isPublicBrokerHost(host)) throw new UsageError(`--broker '${canonicalHost(host)}' is a public test broker: a bench floods its broker; run it against your own, not a public test broker`);
  if (!isLoopbackHost(host) && !allowRemote) {
    throw new UsageError(`--broker: host '${host}' is not this machine (loopback); a bench floods its broker, so pass --allow-remote if '${host}' is yours`);
  }
  return url;
}

/** `npm run bench:compare`: our bench and the C client against one mosquitto. */
export function parseCompare(argv: string[]): Parsed<CompareOptions> {
  refuseShort(argv, 'n', countNotN('bench:compare'));
  const raw = parseRaw(COMMANDS.compare, 'Run this bench and the C client (mosquitto_pub -l, mosquitto_sub -C) against one mosquitto, alternating, and print the ratio per QoS.', argv, (y) =>
    withExamples(y
      .option('qos', { alias: 'q', type: 'string', default: DEFAULT.qos, describe: 'QoS levels, comma-separated' })
      .option('count', { alias: 'C', type: 'string', default: DEFAULT.count, describe: "messages per run (-C as mosquitto_sub's count; -n is not the count)" })
      .option('size', { type: 'string', default: DEFAULT.size, describe: 'payload bytes per message' })
      .option('window', { alias: 'w', type: 'string', default: DEFAULT.window, describe: 'in-flight window for both clients (mosquitto_pub -M)' })
      .option('rounds', { alias: 'r', type: 'string', default: DEFAULT.rounds, describe: 'runs of each client per QoS, alternating' }), COMPARE_EXAMPLES),
  );
  if (!raw) return { kind: 'shown' };
  const bench = parseBench(['--qos', defaulted(raw, 'qos'), '--count', defaulted(raw, 'count'), '--size', defaulted(raw, 'size')]);
  if (bench.kind !== 'run') return bench;
  const window = integer('window', defaulted(raw, 'window'), 1);
  // mosquitto_pub -M accepts 1 to 65535: there is no unbounded window to compare with.
  if (window > 65535) throw new UsageError(`--window must be 1 to 65535 (mosquitto_pub -M), got '${window}'`);
  const { levels, count, size } = bench.options;
  return { kind: 'run', options: { levels, count, size, window, rounds: integer('rounds', defaulted(raw, 'rounds'), 1) } };
}

/** `npm run bench:startup`: how many timed runs of each command. */
export function parseStartup(argv: string[]): Parsed<{ runs: number }> {
  const raw = parseRaw(COMMANDS.startup, 'Time process start to PUBACK to exit for the compiled bin, the ts-node lesson path and MQTT.js\'s own bin.', argv, (y) =>
    withExamples(y.option('runs', { alias: 'r', type: 'string', default: DEFAULT.runs, describe: 'timed runs of each command, alternating' }), STARTUP_EXAMPLES),
  );
  if (!raw) return { kind: 'shown' };
  return { kind: 'run', options: { runs: integer('runs', defaulted(raw, 'runs'), 1) } };
}
