// npm run broker: which engine, where to listen, optional credentials.
import { UsageError } from '../errors';
import type { BrokerKind } from '../../broker/kind';
import { COMMANDS, defaulted, display, displayOptions, engineFlag, engineOption, integer, parseRaw, single, type Display, type Parsed } from './parse';

export interface BrokerCliOptions {
  engine: BrokerKind;
  host: string;
  port: number;
  /** Clients must connect with these; undefined lets anyone in. */
  credentials?: { username: string; password: string };
  /** No packet lines: the tap stays off. */
  quiet: boolean;
  display: Display;
}

const DEFAULT_ENGINE: BrokerKind = 'aedes';

export function parseBroker(argv: string[]): Parsed<BrokerCliOptions> {
  const raw = parseRaw(
    COMMANDS.broker,
    'Run an MQTT broker (the embedded aedes, or mosquitto behind a packet tap) and print every packet it sends and receives, per client.',
    argv,
    (y) =>
      engineOption(displayOptions(y), 'aedes (embedded, MQTT 3.1.1) or mosquitto (installed, MQTT 3.1.1 and 5)', DEFAULT_ENGINE)
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (loopback by default)' })
        .option('port', { alias: 'p', type: 'string', default: '1883', describe: 'port to listen on (0 picks a free one)' })
        .option('username', { alias: 'u', type: 'string', describe: 'require this user name (with --password)' })
        .option('password', { alias: 'P', type: 'string', describe: 'require this password (with --username); never printed' })
        .option('quiet', { type: 'boolean', default: false, describe: 'print no packet lines (for load tests)' }),
  );
  if (!raw) return { kind: 'shown' };
  const port = integer('port', defaulted(raw, 'port'), 0);
  if (port > 65535) throw new UsageError(`--port must be 0 to 65535, got '${port}'`);
  const username = single(raw, 'username');
  const password = single(raw, 'password');
  if ((username === undefined) !== (password === undefined)) throw new UsageError('--username and --password go together: give both or neither');
  return {
    kind: 'run',
    options: {
      engine: engineFlag(raw, DEFAULT_ENGINE),
      host: defaulted(raw, 'host'),
      port,
      credentials: username === undefined || password === undefined ? undefined : { username, password },
      quiet: Boolean(raw.quiet),
      display: display(raw),
    },
  };
}
