// npm start: the QoS lab's pairs, broker and exports.
import { LAB_ACK_TIMEOUT_MS } from '../../lab/pairs';
import type { LabRunOptions } from '../../lab/run-lab';
import { UsageError } from '../errors';
import { explain } from '../explain';
import { BROKER_OR_ENGINE } from './faults';
import { brokerUrl } from './broker-url';
import { BROKER_KINDS } from '../../broker/kind';
import { legBrokerFlags, legBrokerOptions, nodesFlags, nodesOptions } from './broker';
import { MAX_PACKET_BYTES } from './input';
import { DEFAULT_MESSAGE } from './pair';
import { connectionOptions, connectionSettings, protocolFlag, protocolOption } from './connection';
import { ackPackets, COMMANDS, defaulted, display, displayOptions, engineFlag, engineOption, faultOption, filePath, parseRaw, MAX_STRING_BYTES, qosList, seconds, single, topicFlag, traceFlag, traceOption, validateFault, withExamples, type Display, type Example, type Parsed, type TraceFile } from './parse';

export interface LabCliOptions extends Omit<LabRunOptions, 'mermaid'> {
  display: Display;
  /** --mermaid FILE: opened by the entry, written by the lab. */
  mermaid?: string;
  /** --trace FILE (or --json FILE, its old spelling). */
  trace?: TraceFile;
}

const DEFAULT_LAB_TOPIC = 'qos-lab';

export const LAB_EXAMPLES: readonly Example[] = [
  ['$0', 'all nine (publish QoS, subscription QoS) pairs through an embedded aedes'],
  ['$0 --pub 2 --sub 1', 'one pair: publish at QoS 2, subscribe at QoS 1 (delivered at 1)'],
  ['$0 --pub 1 --sub 1 --fault puback', "cut the publisher's connection before its PUBACK: see the resend"],
  ['$0 --engine mosquitto -V 5 --trace trace.jsonl', 'the pairs through mosquitto in MQTT 5, every packet also to trace.jsonl'],
  ['$0 -b 127.0.0.1:1884 -u alice -P secret', 'against a running broker that wants a user name and password'],
];

const ALL_LEVELS = '0,1,2';

/** Seconds the lab waits for each answer of the broker's (CONNACK, SUBACK, PUBACK, PUBREC, PUBCOMP) before it gives up on a pair. */
const DEFAULT_ACK_TIMEOUT = String(LAB_ACK_TIMEOUT_MS / 1000);

export function parseLab(argv: string[], env: NodeJS.ProcessEnv = process.env): Parsed<LabCliOptions> {
  const raw = parseRaw(
    COMMANDS.lab,
    'The QoS lab: for each (publish QoS, subscription QoS) pair, a real publisher and subscriber through a broker, every packet of both legs on one timeline, then the matrix of the QoS actually delivered.',
    argv,
    (y) =>
      withExamples(legBrokerOptions(nodesOptions(engineOption(
        faultOption(traceOption(connectionOptions(protocolOption(displayOptions(y), 'MQTT version of both clients: 3.1.1 or 5 (5 needs --engine mosquitto or --broker: aedes speaks 3.1.1 only)'))), " of each pair's publisher (the subscriber's connection stays direct)"),
        'the broker the lab starts on loopback, its packets tapped: aedes (embedded, the default), mosquitto (behind a tap proxy), aedes-cluster or mosquitto-bridge (two nodes: the publisher on A, the subscriber on B)',
        undefined,
        BROKER_KINDS,
      )))
        .option('broker', { alias: 'b', type: 'string', describe: 'run against this broker (URL or host[:port]) instead of starting one; its lane is then derived from the client legs' })
        .option('ack-timeout', { type: 'string', default: DEFAULT_ACK_TIMEOUT, describe: "seconds to wait for each answer of the broker's (CONNACK, SUBACK, PUBACK, PUBREC, PUBCOMP); a pair whose answer never comes ends there" })
        .option('pub', { type: 'string', default: ALL_LEVELS, describe: 'publish QoS levels to run, e.g. 2 or 1,2' })
        .option('sub', { type: 'string', default: ALL_LEVELS, describe: 'subscription QoS levels to run, e.g. 1 or 0,2' })
        .option('topic', { alias: 't', type: 'string', default: DEFAULT_LAB_TOPIC, describe: 'topic prefix: each pair uses <topic>/pub<P>-sub<S>' })
        .option('message', { alias: 'm', type: 'string', default: DEFAULT_MESSAGE, describe: 'payload to publish' })
        .option('mermaid', { type: 'string', describe: 'also write a Mermaid sequenceDiagram per pair to FILE (Markdown); FILE - is stdout, the other lines then go to stderr' })
        .option('web', { type: 'boolean', default: false, describe: 'the same lab in a browser: serve a page on loopback (its own flags: npm run web -- --help)' })
        .option('session', { type: 'string', choices: ['clean', 'persistent'], default: 'clean', describe: 'clean: both clients connect with clean=1; persistent: clean=0, the broker keeps their sessions (a --fault publisher is always clean=0)' }), LAB_EXAMPLES),
  );
  if (!raw) return { kind: 'shown' };
  const broker = single(raw, 'broker');
  const engine = engineFlag(raw, 'aedes');
  if (broker !== undefined && single(raw, 'engine') !== undefined) throw new UsageError(BROKER_OR_ENGINE);
  const legs = legBrokerFlags(raw, argv);
  const nodes = nodesFlags(raw, legs || broker !== undefined ? undefined : engine);
  const protocol = protocolFlag(raw);
  if (protocol === 5 && broker === undefined && !legs && engine.startsWith('aedes')) throw new UsageError('--protocol 5 needs --engine mosquitto or --broker: the embedded aedes broker speaks MQTT 3.1.1 only');
  const topic = topicFlag(raw, DEFAULT_LAB_TOPIC);
  // Each pair publishes on <topic>/pubP-subS: that whole name must fit MQTT's two-byte length.
  if (Buffer.byteLength(`${topic}/pub0-sub0`) > MAX_STRING_BYTES) throw new UsageError(`--topic is too long: with '/pubP-subS' added each pair's topic must be at most ${MAX_STRING_BYTES} bytes`);
  const url = broker === undefined ? legs?.pubUrl : brokerUrl(broker);
  const pubs = qosList('pub', defaulted(raw, 'pub'));
  const message = defaulted(raw, 'message');
  // The longest pair topic and the highest QoS leave the least room for the payload.
  const room = MAX_PACKET_BYTES - 2 - Buffer.byteLength(`${topic}/pub0-sub0`) - 2 - (protocol === 5 ? 1 : 0);
  if (Buffer.byteLength(message) > room) throw new UsageError(`--message is ${Buffer.byteLength(message)} bytes; a PUBLISH packet holds at most ${MAX_PACKET_BYTES}, so its payload at most ${room}`);
  // A broker the lab starts is always plain TCP on loopback; the cut is on each pair's publisher connection.
  const connection = connectionSettings(raw, url ?? 'mqtt://127.0.0.1', env);
  const fault = validateFault(raw, url ?? 'mqtt://127.0.0.1', [...new Set(pubs.flatMap(ackPackets))]);
  return {
    kind: 'run',
    options: {
      display: display(raw),
      lab: {
        ...(legs ?? (url === undefined ? { engine, ...nodes } : { url })),
        protocol,
        connection,
        ackTimeoutMs: seconds('ack-timeout', defaulted(raw, 'ack-timeout')) * 1000,
        pubs,
        subs: qosList('sub', defaulted(raw, 'sub')),
        topic,
        message,
        ...(fault ? { fault } : {}),
        ...(defaulted(raw, 'session') === 'persistent' ? { clean: false } : {}),
        words: (error) => explain(error, COMMANDS.lab),
      },
      trace: traceFlag(raw),
      mermaid: filePath(raw, 'mermaid'),
    },
  };
}
