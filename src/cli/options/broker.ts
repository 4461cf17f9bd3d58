// npm run broker: which engine, where to listen, optional credentials.
import { isIP } from 'node:net';
import { UsageError } from '../errors';
import type { Argv } from 'yargs';
import { brokerUrl, hostProblem, isLoopbackHost } from './broker-url';
import { BROKER_KINDS, DEFAULT_BRIDGE_QOS, DEFAULT_NODES, MULTI_NODE, type BrokerKind } from '../../broker/kind';
import { parseQos, type QoS } from '../../mqtt/qos';
import { COMMANDS, defaulted, display, displayOptions, engineFlag, engineOption, integer, parseRaw, printable, single, withExamples, type Display, type Example, type Parsed } from './parse';

export interface BrokerCliOptions {
  engine: BrokerKind;
  host: string;
  port: number;
  /** Clients must connect with these; undefined lets anyone in. */
  credentials?: { username: string; password: string };
  /** True when --host is not loopback (--allow-remote was given): other machines can connect. */
  remote: boolean;
  /** No packet lines: the tap stays off. */
  quiet: boolean;
  display: Display;
  /** aedes-cluster's node count, mosquitto-bridge's QoS. */
  nodes: NodesFlags;
}

const DEFAULT_ENGINE: BrokerKind = 'aedes';

export const BROKER_EXAMPLES: readonly Example[] = [
  ['$0', 'the embedded aedes on 127.0.0.1:1883, every packet printed'],
  ['$0 --engine mosquitto -p 1884', 'mosquitto (MQTT 3.1.1 and 5) behind the packet tap, on port 1884'],
  ['$0 -p 1884 -u alice -P secret', 'a broker that lets in only alice with this password'],
  ['$0 -p 0 --quiet', 'a free port (printed), no packet lines'],
];

/** --port of a command that listens: 0 (a free one) to 65535. */
export function listenPort(raw: Record<string, unknown>): number {
  const port = integer('port', defaulted(raw, 'port'), 0);
  if (port > 65535) throw new UsageError(`--port must be 0 to 65535, got '${port}'`);
  return port;
}

/**
 * --host: an IP address or a host name, loopback unless --allow-remote says
 * otherwise. '' would listen on every interface without saying so: refused.
 */
export function listenHost(text: string, allowRemote: boolean): string {
  const host = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new UsageError(`--host is empty: give an address to listen on (127.0.0.1; or 0.0.0.0 with --allow-remote for every interface)`);
  const problem = hostProblem(host);
  if (problem) throw new UsageError(`--host '${printable(text)}': ${problem.replace(/^host '[^']*' /, '')}`);
  if (!isLoopbackHost(host) && !allowRemote) {
    const where = isEveryInterface(host) ? 'every interface' : `'${host}', not loopback`;
    throw new UsageError(`--host '${host}' listens on ${where}: other machines could connect; pass --allow-remote to mean it`);
  }
  return host;
}

/** 0.0.0.0 and :: (in any spelling) listen on every interface. */
export function isEveryInterface(host: string): boolean {
  const family = isIP(host);
  return family === 4 ? host === '0.0.0.0' : family === 6 && /^[0:]+$/.test(host);
}

export function parseBroker(argv: string[]): Parsed<BrokerCliOptions> {
  const raw = parseRaw(
    COMMANDS.broker,
    'Run an MQTT broker (the embedded aedes, or mosquitto behind a packet tap) and print every packet it sends and receives, per client.',
    argv,
    (y) =>
      withExamples(nodesOptions(engineOption(displayOptions(y), 'aedes (embedded, MQTT 3.1.1), mosquitto (installed, MQTT 3.1.1 and 5), aedes-cluster (aedes nodes sharing a redis-server) or mosquitto-bridge (two mosquittos, B bridged to A)', DEFAULT_ENGINE, BROKER_KINDS))
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (loopback by default)' })
        .option('port', { alias: 'p', type: 'string', default: '1883', describe: 'port to listen on (0 picks a free one)' })
        .option('username', { alias: 'u', type: 'string', describe: 'require this user name (with --password)' })
        .option('password', { alias: 'P', type: 'string', describe: 'require this password (with --username); never printed' })
        .option('allow-remote', { type: 'boolean', default: false, describe: 'allow a --host that is not loopback (0.0.0.0 or :: is every interface): other machines can then connect' })
        .option('quiet', { type: 'boolean', default: false, describe: 'print no packet lines (for load tests)' }), BROKER_EXAMPLES),
  );
  if (!raw) return { kind: 'shown' };
  const port = listenPort(raw);
  const username = single(raw, 'username');
  const password = single(raw, 'password');
  if ((username === undefined) !== (password === undefined)) throw new UsageError('--username and --password go together: give both or neither');
  const host = listenHost(defaulted(raw, 'host'), Boolean(raw['allow-remote']));
  const engine = engineFlag(raw);
  const multi = MULTI_NODE.includes(engine);
  if (multi && (argv.some((a) => /^(--port|-p)(=|$)/.test(a)) || username !== undefined || host !== '127.0.0.1')) throw new UsageError(`--engine ${engine} starts its nodes on free loopback ports, without credentials: --port, --host and --username are for one broker`);
  return {
    kind: 'run',
    options: {
      engine,
      nodes: nodesFlags(raw, engine),
      host,
      remote: !isLoopbackHost(host),
      port,
      credentials: username === undefined || password === undefined ? undefined : { username, password },
      quiet: Boolean(raw.quiet),
      display: display(raw),
    },
  };
}

/** --nodes and --bridge-qos, for the commands that can start a broker made of several. */
export function nodesOptions(y: Argv): Argv {
  return y
    .option('nodes', { type: 'string', describe: `with --engine aedes-cluster: how many aedes nodes share the redis-server (${DEFAULT_NODES} to ${MAX_NODES}; default ${DEFAULT_NODES}); the publisher is on node A, the subscriber on node B` })
    .option('bridge-qos', { type: 'string', describe: `with --engine mosquitto-bridge: the bridge's QoS, 0, 1 or 2 (default ${DEFAULT_BRIDGE_QOS}): messages from A reach B at no more than this` });
}

/** The most nodes --nodes starts: each is an aedes in this process with two redis connections. */
const MAX_NODES = 8;

export interface NodesFlags {
  nodes?: number;
  bridgeQos?: QoS;
}

export function nodesFlags(raw: Record<string, unknown>, engine: BrokerKind | undefined): NodesFlags {
  const nodesText = single(raw, 'nodes');
  const qosText = single(raw, 'bridge-qos');
  if (nodesText !== undefined && engine !== 'aedes-cluster') throw new UsageError('--nodes goes with --engine aedes-cluster (a bridge always has two nodes)');
  if (qosText !== undefined && engine !== 'mosquitto-bridge') throw new UsageError('--bridge-qos goes with --engine mosquitto-bridge');
  const nodes = nodesText === undefined ? undefined : integer('nodes', nodesText, DEFAULT_NODES);
  if (nodes !== undefined && nodes > MAX_NODES) throw new UsageError(`--nodes must be ${DEFAULT_NODES} to ${MAX_NODES}, got '${nodes}'`);
  const bridgeQos = qosText === undefined ? undefined : parseQos(qosText);
  if (bridgeQos === null) throw new UsageError(`--bridge-qos must be 0, 1 or 2, got '${printable(qosText!)}'`);
  return { ...(nodes !== undefined && { nodes }), ...(bridgeQos !== undefined && { bridgeQos }) };
}

/** --pub-broker and --sub-broker: the publisher's leg on one running broker, the subscriber's on another (both, or neither). */
export function legBrokerOptions(y: Argv): Argv {
  return y
    .option('pub-broker', { type: 'string', describe: "the publisher's broker (URL or host[:port]), with --sub-broker: each leg on its own broker (node A, node B)" })
    .option('sub-broker', { type: 'string', describe: "the subscriber's broker, with --pub-broker" });
}

export function legBrokerFlags(raw: Record<string, unknown>, argv: readonly string[], url: (flag: string, text: string) => string = legUrl): { pubUrl: string; subUrl: string } | undefined {
  const pub = single(raw, 'pub-broker');
  const sub = single(raw, 'sub-broker');
  if (pub === undefined && sub === undefined) return undefined;
  if (pub === undefined || sub === undefined) throw new UsageError(`--${pub === undefined ? 'sub' : 'pub'}-broker needs --${pub === undefined ? 'pub' : 'sub'}-broker: the publisher's leg on one broker, the subscriber's on another`);
  if (single(raw, 'broker') !== undefined) throw new UsageError('--broker and --pub-broker/--sub-broker exclude each other: one broker for both legs, or one per leg');
  if (argv.some((a) => a === '--engine' || a.startsWith('--engine='))) throw new UsageError('--engine and --pub-broker/--sub-broker exclude each other: --engine starts brokers, --pub-broker/--sub-broker name running ones');
  return { pubUrl: url('pub-broker', pub), subUrl: url('sub-broker', sub) };
}

/** brokerUrl() for a flag other than --broker: its errors name that flag. */
export function legUrl(flag: string, text: string): string {
  return asFlag(flag, () => brokerUrl(text));
}

/** A --broker check run for another flag: its errors name that flag. */
export function asFlag<T>(flag: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(error.message.replace(/^--broker\b/, `--${flag}`));
    throw error;
  }
}
