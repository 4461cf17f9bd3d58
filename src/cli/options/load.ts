// npm run load: the subscriber under a steady stream.
import { BROKER_KINDS, type BrokerKind } from '../../broker/kind';
import type { QoS } from '../../mqtt/qos';
import { UsageError } from '../errors';
import { COMMANDS, integer, parseRaw, qosFlag, single, type Parsed } from './parse';

export interface LoadCliOptions {
  seconds: number;
  rate: number;
  qos: QoS;
  engine: BrokerKind;
}

/** npm run load: the subscriber under a steady stream of messages. */
export function parseLoad(argv: string[], mosquittoInstalled: boolean): Parsed<LoadCliOptions> {
  const raw = parseRaw(COMMANDS.load, 'Send the subscriber a steady stream of messages and report received, lost and its memory.', argv, (y) =>
    y
      .option('seconds', { alias: 's', type: 'string', default: '60', describe: 'how long to publish' })
      .option('rate', { type: 'string', default: '20000', describe: 'messages per second' })
      .option('qos', { alias: 'q', type: 'string', default: '1', describe: 'QoS of publish and subscription: 0, 1 or 2' })
      .option('engine', { type: 'string', choices: [...BROKER_KINDS], describe: 'broker (default: mosquitto when installed, else aedes)' }),
  );
  if (!raw) return { kind: 'shown' };
  const qos = qosFlag(raw, '1');
  const engine = single(raw, 'engine') ?? (mosquittoInstalled ? 'mosquitto' : 'aedes');
  if (engine === 'mosquitto' && !mosquittoInstalled) throw new UsageError("--engine mosquitto: mosquitto is not installed (bash scripts/install-mosquitto.sh)");
  return {
    kind: 'run',
    options: { seconds: integer('seconds', single(raw, 'seconds') ?? '60', 1), rate: integer('rate', single(raw, 'rate') ?? '20000', 1), qos, engine: engine === 'mosquitto' ? 'mosquitto' : 'aedes' },
  };
}
