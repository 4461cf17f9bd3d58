// npm run broker: which engine, where to listen, optional credentials.
import { isIP } from 'node:net';
import { UsageError } from '../errors';
import { hostProblem, isLoopbackHost } from './broker-url';
import type { BrokerKind } from '../../broker/kind';
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
}

const DEFAULT_ENGINE: BrokerKind = 'aedes';

export const BROKER_EXAMPLES: readonly Example[] = [
  ['$0', 'the embedded aedes on 127.0.0.1:1883, every packet printed'],
  ['$0 --engine mosquitto -p 1884', 'mosquitto (MQTT 3.1.1 and 5) behind the packet tap, on port 1884'],
  ['$0 -p 1884 -u alice -P secret', 'a broker that lets in only alice with this password'],
  ['$0 -p 0 --quiet', 'a free port (printed), no packet lines'],
];

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
      withExamples(engineOption(displayOptions(y), 'aedes (embedded, MQTT 3.1.1) or mosquitto (installed, MQTT 3.1.1 and 5)', DEFAULT_ENGINE)
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (loopback by default)' })
        .option('port', { alias: 'p', type: 'string', default: '1883', describe: 'port to listen on (0 picks a free one)' })
        .option('username', { alias: 'u', type: 'string', describe: 'require this user name (with --password)' })
        .option('password', { alias: 'P', type: 'string', describe: 'require this password (with --username); never printed' })
        .option('allow-remote', { type: 'boolean', default: false, describe: 'allow a --host that is not loopback (0.0.0.0 or :: is every interface): other machines can then connect' })
        .option('quiet', { type: 'boolean', default: false, describe: 'print no packet lines (for load tests)' }), BROKER_EXAMPLES),
  );
  if (!raw) return { kind: 'shown' };
  const port = integer('port', defaulted(raw, 'port'), 0);
  if (port > 65535) throw new UsageError(`--port must be 0 to 65535, got '${port}'`);
  const username = single(raw, 'username');
  const password = single(raw, 'password');
  if ((username === undefined) !== (password === undefined)) throw new UsageError('--username and --password go together: give both or neither');
  const host = listenHost(defaulted(raw, 'host'), Boolean(raw['allow-remote']));
  return {
    kind: 'run',
    options: {
      engine: engineFlag(raw),
      host,
      remote: !isLoopbackHost(host),
      port,
      credentials: username === undefined || password === undefined ? undefined : { username, password },
      quiet: Boolean(raw.quiet),
      display: display(raw),
    },
  };
}
