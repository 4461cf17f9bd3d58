// One flag, one meaning across commands: chaos takes the tools' --fault
// grammar, load's duration is --seconds (-s is no longer a load flag), and
// every command that can use a running broker spells it -b/--broker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBench, parseChaos, parseLab, parseLoad, parseScenario } from '../../src/cli/options';

function options<T>(parsed: { kind: 'shown' } | { kind: 'run'; options: T }): T {
  assert.equal(parsed.kind, 'run');
  return (parsed as { options: T }).options;
}

const cuts = (argv: string[]) => {
  const o = options(parseChaos(argv));
  return { ...o.cut, seed: o.seed };
};

test('chaos --fault takes the tools grammar every:MS[-MS][:SEED]; the default is every:200-500:1', () => {
  assert.deepEqual(cuts([]), { minMs: 200, maxMs: 500, seed: 1 });
  assert.deepEqual(cuts(['--fault', 'every:20-60:7']), { minMs: 20, maxMs: 60, seed: 7 });
  assert.deepEqual(cuts(['--fault', 'every:300']), { minMs: 300, maxMs: 300, seed: 1 });
});

test('chaos --cut MIN-MAX --seed N, the old spelling, still means --fault every:MIN-MAX:N', () => {
  assert.deepEqual(cuts(['--cut', '20-60', '--seed', '7']), cuts(['--fault', 'every:20-60:7']));
  assert.deepEqual(cuts(['--seed', '9']), { minMs: 200, maxMs: 500, seed: 9 });
});

test('chaos refuses a cut it cannot make, two spellings at once, and cuts with --burst', () => {
  assert.throws(() => parseChaos(['--fault', 'puback']), /^UsageError: --fault: chaos cuts on a timer, so it takes every:MS\[-MS\]\[:SEED\], got 'puback'$/);
  assert.throws(() => parseChaos(['--fault', 'every:5-1']), /--fault every:MIN-MAX needs 1 <= MIN <= MAX milliseconds/);
  assert.throws(() => parseChaos(['--fault', 'every:1-2147483648']), /--fault every: cuts at most 2147483647 ms apart/);
  assert.throws(() => parseChaos(['--fault', 'every:1-2', '--seed', '3']), /--seed is the old spelling of part of --fault: give --fault every:MIN-MAX:SEED alone/);
  assert.throws(() => parseChaos(['--burst', '--fault', 'every:1-2']), /--burst cuts nothing: give --burst or --fault, not both/);
  assert.throws(() => parseChaos(['--burst', '--cut', '1-2']), /--burst cuts nothing: give --burst or --cut, not both/);
});

test('load: the duration is --seconds; -s (the bench size, mosquitto_pub stdin) is refused by name', () => {
  assert.equal(options(parseLoad(['--seconds', '5'], false)).seconds, 5);
  assert.throws(() => parseLoad(['-s', '5'], false), /^UsageError: -s is not a load flag: the duration is --seconds$/);
});

test('-b/--broker on every command that can use a running broker, with the same meaning', () => {
  const url = 'mqtt://127.0.0.1:1884';
  const brokers: [string, (argv: string[]) => string | undefined][] = [
    ['lab', (argv) => options(parseLab(argv)).lab.url],
    ['chaos', (argv) => options(parseChaos(argv)).broker],
    ['scenario', (argv) => options(parseScenario(['offline', ...argv])).broker],
    ['load', (argv) => options(parseLoad(argv, false)).broker],
    ['bench', (argv) => options(parseBench(argv)).broker],
  ];
  for (const [command, broker] of brokers) {
    assert.equal(broker(['--broker', '127.0.0.1:1884']), url, `${command} --broker`);
    assert.equal(broker(['-b', url]), url, `${command} -b`);
    // Each command that also starts a broker (--engine) refuses both in the same words.
    if (command === 'bench') continue;
    assert.throws(() => broker(['-b', url, '--engine', 'aedes']), /^UsageError: --engine and --broker exclude each other: --engine starts a broker, --broker names a running one$/, command);
  }
});
