// npm run load: the subscriber under a steady stream.
import type { LoadOptions } from '../../bench/load';
import { UsageError } from '../errors';
import { COMMANDS, defaulted, engineFlag, engineOption, integer, MAX_TIMER_MS, parseRaw, qosFlag, refuseShort, withExamples, type Example, type Parsed } from './parse';
import { ownBrokerFlag } from './faults';

/** The most messages one load run may send: the subscriber's tally is a byte per message. */
const MAX_LOAD_MESSAGES = 100_000_000;

export const LOAD_EXAMPLES: readonly Example[] = [
  ['$0 --seconds 10 --rate 5000', '5000 messages a second for 10 s; received, lost and the memory'],
  ['$0 --engine aedes -q 2 --seconds 30', 'at QoS 2 through the embedded aedes'],
  ['$0 -b 127.0.0.1:1884 --seconds 10', 'against a running broker on this machine'],
];

/** npm run load: the subscriber under a steady stream of messages. */
export function parseLoad(argv: string[], mosquittoInstalled: boolean): Parsed<LoadOptions> {
  // -s was load's --seconds, but the bench's --size and mosquitto_pub's stdin: the duration is spelt out now.
  refuseShort(argv, 's', '-s is not a load flag: the duration is --seconds');
  refuseShort(argv, 'n', '-n is not a load flag: load sends --rate messages a second for --seconds, it takes no --count');
  const raw = parseRaw(COMMANDS.load, 'Send the subscriber a steady stream of messages and report received, lost and its memory.', argv, (y) =>
    withExamples(engineOption(
      y
        .option('seconds', { type: 'string', default: '60', describe: 'how long to publish, in seconds' })
        .option('rate', { type: 'string', default: '20000', describe: 'messages per second' })
        .option('qos', { alias: 'q', type: 'string', default: '1', describe: 'QoS of publish and subscription: 0, 1 or 2' })
        .option('broker', { alias: 'b', type: 'string', describe: 'a running broker (URL or host[:port]) instead of starting one; --engine is then not allowed' }),
      'broker (default: mosquitto when installed, else aedes)',
    ), LOAD_EXAMPLES),
  );
  if (!raw) return { kind: 'shown' };
  const qos = qosFlag(raw);
  const engine = engineFlag(raw, mosquittoInstalled ? 'mosquitto' : 'aedes');
  if (engine === 'mosquitto' && !mosquittoInstalled) throw new UsageError("--engine mosquitto: mosquitto is not installed (bash scripts/install-mosquitto.sh)");
  const seconds = integer('seconds', defaulted(raw, 'seconds'), 1);
  if (seconds * 1000 > MAX_TIMER_MS) throw new UsageError(`--seconds must be at most ${Math.floor(MAX_TIMER_MS / 1000)} (what a timer can wait), got '${seconds}'`);
  const rate = integer('rate', defaulted(raw, 'rate'), 1);
  // The subscriber keeps one byte per message it may be sent (rate × seconds).
  if (rate * seconds > MAX_LOAD_MESSAGES) throw new UsageError(`--rate × --seconds must be at most ${MAX_LOAD_MESSAGES} messages (one byte each is kept to count them), got ${rate} × ${seconds}`);
  return { kind: 'run', options: { seconds, rate, qos, engine, broker: ownBrokerFlag(raw, argv) } };
}
