// Every --help example runs as written: each is parsed by its own command's
// parser (the words a shell would pass it), and --help shows them all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BENCH_EXAMPLES,
  BROKER_EXAMPLES,
  COMPARE_EXAMPLES,
  parseBench,
  parseCompare,
  parseStartup,
  STARTUP_EXAMPLES,
  CHAOS_EXAMPLES,
  LAB_EXAMPLES,
  LOAD_EXAMPLES,
  parseBroker,
  parseChaos,
  parseLab,
  parseLoad,
  parseProbe,
  parsePublish,
  parseScenario,
  parseSubscribe,
  PROBE_EXAMPLES,
  PUBLISH_EXAMPLES,
  SCENARIO_EXAMPLES,
  SUBSCRIBE_EXAMPLES,
} from '../../src/cli/options';
import { parseWeb, WEB_EXAMPLES } from '../../src/cli/options/web';
import { COMMANDS as NAMES, type Example } from '../../src/cli/options/parse';

type Parse = (argv: string[]) => { kind: string };

const COMMANDS: [name: string, examples: readonly Example[], parse: Parse][] = [
  ['publish', PUBLISH_EXAMPLES, (argv) => parsePublish(argv, {})],
  ['subscribe', SUBSCRIBE_EXAMPLES, (argv) => parseSubscribe(argv, {})],
  ['lab', LAB_EXAMPLES, (argv) => parseLab(argv, {})],
  ['broker', BROKER_EXAMPLES, parseBroker],
  ['chaos', CHAOS_EXAMPLES, (argv) => parseChaos(argv, {})],
  ['scenario', SCENARIO_EXAMPLES, (argv) => parseScenario(argv, {})],
  // As on a machine with mosquitto installed (the examples that start one say --engine mosquitto).
  ['load', LOAD_EXAMPLES, (argv) => parseLoad(argv, true)],
  ['probe', PROBE_EXAMPLES, parseProbe],
  ['web', WEB_EXAMPLES, parseWeb],
  ['bench', BENCH_EXAMPLES, (argv) => parseBench(argv, {})],
  ['compare', COMPARE_EXAMPLES, parseCompare],
  ['startup', STARTUP_EXAMPLES, parseStartup],
];

/** The words a POSIX shell passes to the command `$0` in `line`: quotes removed, other pipeline stages and redirections left out. */
function argvOf(line: string): string[] {
  const stages: string[][] = [[]];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      assert.ok(end > i, `unclosed quote in ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === ' ' || c === '|') {
      if (word !== undefined) stages.at(-1)!.push(word);
      word = undefined;
      if (c === '|') stages.push([]);
    } else word = (word ?? '') + c;
  }
  if (word !== undefined) stages.at(-1)!.push(word);
  const ours = stages.find((words) => words[0] === '$0');
  assert.ok(ours, `no $0 stage in ${line}`);
  const argv: string[] = [];
  for (let i = 1; i < ours.length; i++) {
    const w = ours[i]!;
    if (/^\d?>/.test(w)) {
      if (/^\d?>$/.test(w)) i++;
      continue;
    }
    argv.push(w);
  }
  return argv;
}

test('every command is covered here', () => {
  const covered = new Set(COMMANDS.map(([name]) => name));
  assert.deepEqual(Object.keys(NAMES).filter((name) => !covered.has(name)), []);
});

test('argvOf reads a line as a shell would', () => {
  assert.deepEqual(argvOf("tail -f x | $0 -t 'a b' -l | jq ."), ['-t', 'a b', '-l']);
  assert.deepEqual(argvOf('$0 --json > card.json 2>/dev/null'), ['--json']);
});

for (const [name, examples, parse] of COMMANDS) {
  test(`${name}: every --help example parses with ${name}'s own parser (a run, not an error)`, () => {
    assert.ok(examples.length >= 3, `${name} has at least three examples`);
    for (const [line] of examples) {
      const argv = argvOf(line);
      let parsed: { kind: string };
      try {
        parsed = parse(argv);
      } catch (error) {
        assert.fail(`${name} example '${line}' is refused: ${(error as Error).message}`);
      }
      assert.equal(parsed.kind, 'run', line);
    }
  });

  test(`${name}: --help shows its examples`, () => {
    const printed: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void printed.push(args.join(' '));
    try {
      assert.equal(parse(['--help']).kind, 'shown');
    } finally {
      console.log = log;
    }
    const help = printed.join('\n');
    const examplesPart = help.slice(help.indexOf('Examples:'));
    assert.ok(help.includes('Examples:'), `${name} --help has an Examples section`);
    // yargs wraps the two columns side by side: each description's words come in order, the other column's between them.
    const words = examplesPart.split(/\s+/);
    for (const [, what] of examples) {
      let at = 0;
      for (const word of what.split(/\s+/)) at = words.indexOf(word, at) + 1 || Infinity;
      assert.ok(at !== Infinity, `${name} --help shows '${what}'`);
    }
  });
}
