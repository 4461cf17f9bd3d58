// mqtt-qos-probe (npm run probe): the broker report card's options.
import type { Argv } from 'yargs';
import { BROKER_KINDS, MULTI_NODE } from '../../broker/kind';
import { asFlag, legBrokerFlags, legBrokerOptions, nodesFlags, nodesOptions } from './broker';
import { QUESTION_IDS, type QuestionId } from '../../probe/answer';
import type { ProbeOptions } from '../../probe/run';
import { UsageError } from '../errors';
import { connectionOptions, connectionSettings } from './connection';
import { STDOUT, takesStdout } from '../output-file';
import { brokerUrl, canonicalHost, isLoopbackHost, isPublicBrokerHost, urlHost } from './broker-url';
import { COMMANDS, engineFlag, engineOption, filePath, parseRaw, printable, single, withExamples, type Example, type Parsed } from './parse';

export interface ProbeCliOptions {
  /** What to probe; `broker` (one field for the broker URL) when a running broker is named. */
  probe: ProbeOptions;
  /** --json: print the one JSON object instead of the card. */
  json: boolean;
  /** --markdown FILE, --trace FILE: opened by the entry. */
  markdown?: string;
  trace?: string;
  /** --color (on a terminal, without NO_COLOR). */
  color: boolean;
}

/** The shared TLS flags, declared (hidden from --help) only so that each is refused in the probe's own words, not as an unknown flag. */
const TLS_FLAGS = ['ca', 'cert', 'key', 'insecure'] as const;

function tlsRefused(y: Argv): Argv {
  return y
    .option('ca', { alias: 'cafile', type: 'string', hidden: true })
    .option('cert', { type: 'string', hidden: true })
    .option('key', { type: 'string', hidden: true })
    .option('insecure', { type: 'boolean', default: false, hidden: true });
}

export const PROBE_EXAMPLES: readonly Example[] = [
  ['$0', 'the report card of the embedded aedes'],
  ['$0 --engine mosquitto --quick', 'a quick card of mosquitto (under 10 s)'],
  ["$0 --engine mosquitto --config 'max_qos 1'", 'what a mosquitto limited to QoS 1 answers'],
  ['$0 -b 127.0.0.1:1884 --json > card.json', 'a running broker on this machine, the card as one JSON object'],
  ['$0 --only chaos,order --trace probe.jsonl', 'two questions only, every packet they exchanged to probe.jsonl'],
];

export function parseProbe(argv: string[], env: NodeJS.ProcessEnv = process.env): Parsed<ProbeCliOptions> {
  const raw = parseRaw(
    COMMANDS.probe,
    `The broker report card: does this broker keep its QoS promises, and where does it differ from the specification? A bounded battery (under a minute on loopback; --quick under 10 s), one line per question, each verdict read from the packets seen. Questions: ${QUESTION_IDS.join(', ')}.`,
    argv,
    (y) =>
      withExamples(legBrokerOptions(nodesOptions(engineOption(tlsRefused(connectionOptions(y, ['credentials', 'keepalive'])), `the broker to start on loopback and probe: ${BROKER_KINDS.join(' or ')} (the last two are two brokers: publishers on node A, subscribers on node B)`, 'aedes', BROKER_KINDS)))
        .option('broker', { alias: 'b', type: 'string', describe: 'probe a running broker (mqtt://HOST[:PORT] or HOST[:PORT]) instead of starting one' })
        .option('allow-remote', { type: 'boolean', default: false, describe: 'allow a --broker that is not on this machine (the probe sends a few thousand messages; never a public test broker)' })
        .option('config', { type: 'string', describe: "mosquitto.conf lines for --engine mosquitto, separated by ';' (e.g. 'max_qos 1' or 'max_queued_messages 10')" })
        .option('quick', { type: 'boolean', default: false, describe: 'a smaller battery (under 10 s on loopback): fewer messages per question' })
        .option('color', { type: 'boolean', default: true, describe: 'color the card on a terminal (--no-color or NO_COLOR turns it off)' })
        .option('only', { type: 'string', describe: `ask only these questions, comma separated: ${QUESTION_IDS.join(',')}` })
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON object (every question with its verdict, figures and evidence) instead of the card' })
        .option('markdown', { type: 'string', describe: 'also write the card as a Markdown report to FILE' })
        .option('trace', { type: 'string', describe: 'also write every packet of the battery to FILE as JSON lines (record n is line n; the one connection check before it is not recorded)' }), PROBE_EXAMPLES),
  );
  if (!raw) return { kind: 'shown' };
  const brokerText = single(raw, 'broker');
  const configText = single(raw, 'config');
  const engineGiven = argv.some((a) => a === '--engine' || a.startsWith('--engine='));
  if (brokerText !== undefined && engineGiven) throw new UsageError('give --broker or --engine, not both: --engine starts a broker, --broker names a running one');
  const engine = engineFlag(raw, 'aedes');
  if (configText !== undefined && (brokerText !== undefined || engine !== 'mosquitto')) throw new UsageError('--config sets up the mosquitto the probe starts: it needs --engine mosquitto');
  const config = configText === undefined ? [] : configText.split(';').map((l) => l.trim()).filter(Boolean);
  const tlsFlag = TLS_FLAGS.find((f) => (f === 'insecure' ? Boolean(raw[f]) : single(raw, f) !== undefined));
  if (tlsFlag) throw new UsageError(`--${tlsFlag}: the probe reads every packet through a plain TCP relay in front of the broker, and TLS would hide them from it; probe the broker's plain mqtt:// listener`);
  const broker = brokerText === undefined ? undefined : target(brokerText, Boolean(raw['allow-remote']));
  const legs = legBrokerFlags(raw, argv, (flag, text) => asFlag(flag, () => target(text, Boolean(raw['allow-remote']))));
  const nodes = nodesFlags(raw, legs || broker !== undefined ? undefined : engine);
  const connection = connectionSettings(raw, broker ?? legs?.pubUrl ?? 'mqtt://127.0.0.1', env);
  if (!legs && broker === undefined && MULTI_NODE.includes(engine) && connection.username !== undefined) throw new UsageError(`--engine ${engine} starts its nodes without credentials: --username (or MQTT_USERNAME) is for --broker, --pub-broker/--sub-broker or one broker the probe starts`);
  const markdown = filePath(raw, 'markdown');
  const trace = filePath(raw, 'trace');
  // `-` is stdout (the card then goes to stderr); --json's one object cannot share it.
  if (takesStdout(markdown, trace) && raw.json) throw new UsageError(`--json and --${markdown === STDOUT ? 'markdown' : 'trace'} - both write to stdout: give --${markdown === STDOUT ? 'markdown' : 'trace'} a file name`);
  return {
    kind: 'run',
    options: {
      probe: { engine, config, connection, ...(broker && { broker }), ...(legs && { legs }), ...nodes, quick: Boolean(raw.quick), ...(single(raw, 'only') !== undefined && { only: questions(single(raw, 'only')!) }) },
      json: Boolean(raw.json),
      markdown,
      trace,
      color: Boolean(raw.color),
    },
  };
}

function questions(text: string): QuestionId[] {
  const ids = text.split(',').map((s) => s.trim());
  const unknown = ids.filter((id) => !(QUESTION_IDS as string[]).includes(id));
  if (unknown.length > 0 || ids.length === 0) throw new UsageError(`--only takes question names (${QUESTION_IDS.join(', ')}), got '${printable(text)}'`);
  return ids as QuestionId[];
}

/** The probe's relay speaks plain TCP; it floods a little, so not a public test broker, and off this machine only when asked. */
function target(text: string, allowRemote: boolean): string {
  const url = brokerUrl(text);
  if (!url.startsWith('mqtt://')) throw new UsageError(`--broker '${text}': the probe reads the wire through a plain TCP relay, so it takes mqtt:// brokers only`);
  const host = urlHost(url);
  if (isPublicBrokerHost(host)) throw new UsageError(`--broker '${canonicalHost(host)}' is a public test broker: the probe sends a few thousand messages and cuts connections; run it against your own`);
  if (!isLoopbackHost(host) && !allowRemote) throw new UsageError(`--broker: host '${host}' is not this machine (loopback); pass --allow-remote if '${host}' is yours`);
  return url;
}
