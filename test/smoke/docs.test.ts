// Every block of README.md and docs/*.md marked `<!-- runnable -->` is run and its output
// compared, by shape, with what the doc pasted (the marking: test/support/docs.ts).
//
// How a command runs: bash expands it (quotes, $(...)) into words, without running it; a
// command of ours then runs in-process through its main(argv, io), stdout and stderr into
// one stream, in a temporary folder (files the doc names are made and read there); only
// `npm run broker` is spawned (it has no io), and anything else (openssl, mosquitto -c,
// a pipe) runs in bash. How the broker is replaced: a block's `broker=` names the broker
// the test starts on a free loopback port, and each command's --broker (or -b) is rewritten
// to its URL (added to the tools where absent); `port=N` turns the literal port N into a free
// one. Shapes ignore ports, packet ids, times and the machine's client-id suffix.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import type { Io } from '../../src/cli/io';
import { settle } from '../../src/cli/main';
import { startedAsName } from '../../src/cli/explain';
import { COMMANDS } from '../../src/cli/options/parse';
import { freePort } from '../../src/broker/mosquitto';
import { within } from '../../src/mqtt/wait';
import { main as publish } from '../../src/publish';
import { main as subscribe } from '../../src/subscribe';
import { main as lab } from '../../src/bin/lab';
import { main as scenario } from '../../src/bin/scenario';
import { main as chaos } from '../../src/bin/chaos';
import { main as bench } from '../../src/bin/bench';
import { main as load } from '../../src/bin/load';
import { main as probe } from '../../src/bin/probe';
import { testBroker } from '../support/broker';
import { ROOT, runCli } from '../support/cli';
import { compare, needsShell, pipeline, quietStderr, readBlocks, repasted, writeRepastes, type Block, type Step } from '../support/docs';
import { HOSTILE, hostileBroker } from '../support/hostile-broker';
import { HAVE_MOSQUITTO, testMosquitto } from '../support/mosquitto';

const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => join('docs', f))].filter((f) => f.endsWith('.md'));
/** Files whose every `$ ` block must say whether it runs (docs/bench.md is the bench's own). */
const MARKED = ['README.md', 'docs/lab.md', 'docs/edges.md', 'docs/faults.md'];
const STEP_MS = 60_000;
/** On CI (CI=true, or .ci/run's REQUIRE_MOSQUITTO=1) a block whose program is missing fails instead of skipping. */
const CI = process.env.CI === 'true' || process.env.REQUIRE_MOSQUITTO === '1';
/** DOCS_REPASTE=1 writes each run's output into its block (then read the diff): how the pastes are made. */
const REPASTE = process.env.DOCS_REPASTE === '1';
const repastes: { block: Block; text: string[] }[] = [];

type Main = (argv: string[], io: Io) => Promise<number>;
const MAINS: Record<string, { name: string; main: Main }> = {
  publish: { name: COMMANDS.publish, main: publish },
  subscribe: { name: COMMANDS.subscribe, main: subscribe },
  lab: { name: COMMANDS.lab, main: lab },
  scenario: { name: COMMANDS.scenario, main: (a, io) => scenario(a, io) },
  chaos: { name: COMMANDS.chaos, main: (a, io) => chaos(a, io) },
  bench: { name: COMMANDS.bench, main: (a, io) => bench(a, io) },
  load: { name: COMMANDS.load, main: (a, io) => load(a, io) },
  probe: { name: COMMANDS.probe, main: (a, io) => probe(a, io) },
};

/**
 * Which command a line runs, its own arguments, and the command line as typed up to them
 * (`npx ts-node src/publish.ts`, `npm start --`): the hints name what the user ran.
 */
function entryOf(words: string[]): { entry: string; args: string[]; typed: string } | null {
  const w = [...words];
  const runner = w[0] === 'npx' && (w[1] === 'ts-node' || w[1] === 'tsx') ? 2 : w[0] === 'node' && w[1] === '--import' && w[2] === 'tsx' ? 3 : w[0] === 'npx' ? 1 : 0;
  const tool: Record<string, string> = { 'src/publish.ts': 'publish', 'publish-with-qos': 'publish', 'src/subscribe.ts': 'subscribe', 'subscribe-with-qos': 'subscribe', 'mqtt-qos-bench': 'bench' };
  const named = w[runner];
  if (named && tool[named]) return { entry: tool[named]!, args: w.slice(runner + 1), typed: w.slice(0, runner + 1).join(' ') };
  if (w[0] !== 'npm') return null;
  const rest: string[] = w[1] === 'start' ? ['lab', ...w.slice(2)] : w[1] === 'run' ? w.slice(2) : [];
  if (rest[0] === '-s' || rest[0] === '--silent') rest.shift();
  const [name, ...args] = rest;
  const script = name === 'start' ? 'lab' : name;
  if (args[0] === '--') args.shift();
  const typed = script === 'lab' ? 'npm start --' : `npm run ${script} --`;
  return script && (MAINS[script] || script === 'broker') ? { entry: script, args, typed } : null;
}

/** The words bash would pass, without running anything: quotes, $(...) and escapes as typed. */
function words(command: string, cwd: string): string[] {
  const r = spawnSync('bash', ['-c', `printf '%s\\0' ${command}`], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `bash could not read: ${command}\n${r.stderr}`);
  return r.stdout.split('\0').slice(0, -1);
}

/** Points --broker/-b (or mosquitto's -p/--port) at url; adds --broker where `add` and the command names no broker. */
function withBroker(args: string[], url: string, add: boolean): string[] {
  const out = [...args];
  const port = out.findIndex((a) => a === '-p' || a === '--port');
  if (port >= 0 && add) {
    out[port + 1] = new URL(url).port;
    return out;
  }
  const at = out.findIndex((a) => a === '--broker' || a === '-b');
  if (at >= 0) out[at + 1] = url;
  else {
    const eq = out.findIndex((a) => a.startsWith('--broker='));
    if (eq >= 0) out[eq] = `--broker=${url}`;
    else if (add) out.push('--broker', url);
  }
  return out;
}

function withPort(args: string[], port: number): string[] {
  const at = args.indexOf('--port');
  return at >= 0 ? args.map((a, i) => (i === at + 1 ? String(port) : a)) : [...args, '--port', String(port)];
}

interface Job {
  done: Promise<{ code: number; output: string }>;
  output(): string;
  /** Resolves once the output so far matches (a line can span two chunks, so all of it is matched). */
  printed(pattern: RegExp): Promise<void>;
  signal?(name: NodeJS.Signals): void;
}

/** The output of a job as it arrives, and waits for a pattern in it. */
function collector(): { add(chunk: Buffer | string): void; text(): string; printed(pattern: RegExp): Promise<void> } {
  let text = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) if (w.pattern.test(text)) waiters.splice(waiters.indexOf(w), 1), w.resolve();
  };
  return {
    add: (chunk) => ((text += chunk.toString()), check()),
    text: () => text,
    printed: (pattern) => new Promise<void>((resolve) => (waiters.push({ pattern, resolve }), check())),
  };
}

/** How an in-process command sits in a pipeline: what its stdin is, where its stdout goes, whether stderr is dropped. */
interface Plumbing {
  stdin: Buffer;
  /** A shell command its stdout is piped into (`| head -2`): what that prints is the output. */
  into?: ChildProcess;
  quiet: boolean;
}

function inProcess(entry: string, args: string[], typed: string, plumbing: Plumbing = { stdin: Buffer.alloc(0), quiet: false }): Job {
  const { name, main } = MAINS[entry]!;
  startedAsName(name, typed);
  const [out, err] = [new PassThrough(), new PassThrough()];
  const seen = collector();
  // What a `2>/dev/null` drops still tells the test when a job is ready.
  const readiness = collector();
  out.on('data', readiness.add);
  err.on('data', readiness.add);
  if (!plumbing.quiet) err.on('data', seen.add);
  const into = plumbing.into;
  // Listened for now: `head` may be gone before the command ends.
  const intoClosed = into && once(into, 'close');
  if (into) {
    into.stdin!.on('error', () => undefined); // `head` may leave before the command stops writing
    out.pipe(into.stdin!);
    for (const s of [into.stdout!, into.stderr!]) s.on('data', seen.add);
  } else out.on('data', seen.add);
  const io: Io = { out, err, env: { ...process.env, NO_COLOR: '1' }, in: Readable.from([plumbing.stdin]) };
  const done = settle(name, (a) => main(a, io), args, (line) => err.write(line)).then(async (code) => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!intoClosed) return { code, output: seen.text() };
    out.end();
    // A pipeline's exit code is its last command's.
    const [last] = (await intoClosed) as [number];
    return { code: last, output: seen.text() };
  });
  return { done, output: seen.text, printed: readiness.printed };
}

/** Runs the shell parts before ours to completion and returns what they printed: our command's stdin. */
function shellOutput(command: string, cwd: string): Buffer {
  const r = spawnSync('bash', ['-c', command], { cwd });
  assert.equal(r.status, 0, `${command}: ${r.stderr}`);
  return r.stdout;
}

function spawned(child: ChildProcess, group: boolean): Job {
  const seen = collector();
  for (const s of [child.stdout!, child.stderr!]) s.on('data', seen.add);
  const done = once(child, 'close').then(([code]) => ({ code: code as number, output: seen.text() }));
  const signal = (name: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (group) process.kill(-child.pid!, name);
    else child.kill(name);
  };
  return { done, output: seen.text, printed: seen.printed, signal };
}

function shell(command: string, cwd: string): Job {
  return spawned(spawn('bash', ['-c', `exec 2>&1; ${command}`], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }), true);
}

const READY_MS = 15_000;

/** Until a port accepts a connection: nothing announces that, so it is tried every 20 ms, within a bound. */
async function listening(port: number): Promise<void> {
  const deadline = Date.now() + READY_MS;
  while (!(await accepts(port))) {
    assert.ok(Date.now() < deadline, `nothing listened on port ${port} within ${READY_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

function hasProgram(name: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${name}`]).status === 0;
}

function skipReason(block: Block): string | false {
  for (const program of (block.options.get('needs') ?? '').split(',').filter(Boolean)) {
    const have = program === 'mosquitto' ? HAVE_MOSQUITTO : hasProgram(program);
    if (!have && !CI) return `${program} is not installed (bash scripts/install-mosquitto.sh installs it); CI=true makes this fail`;
  }
  return false;
}

/** The broker the block's commands are pointed at: its URL, and the port of a `started` one. */
async function blockBroker(t: TestContext, kind: string | undefined, config: string | undefined): Promise<{ url?: string; port?: number }> {
  if (kind === undefined) return {};
  if (kind === 'aedes') return { url: (await testBroker(t)).url };
  if (kind === 'started') {
    const port = await freePort();
    return { url: `mqtt://127.0.0.1:${port}`, port };
  }
  if (kind === 'mosquitto') return { url: (await testMosquitto(t, { config: config ? [config] : [] })).url };
  const name = kind.replace(/^hostile\./, '') as keyof typeof HOSTILE;
  assert.ok(HOSTILE[name], `no HOSTILE.${name}`);
  return { url: (await hostileBroker(t, HOSTILE[name])).url };
}

/** The broker port the block's commands name: a `--broker` URL's, a broker's `--port`, else MQTT's 1883. */
function docPortOf(block: Block): string {
  for (const { command } of block.steps) {
    const named = /(?:--broker[= ]|-b )\S*?:(\d+)\b/.exec(command) ?? /npm run broker .*--port (\d+)/.exec(command);
    if (named) return named[1]!;
  }
  return '1883';
}

async function runBlock(t: TestContext, block: Block, cwd: string): Promise<void> {
  const kind = block.options.get('broker');
  const broker = await blockBroker(t, kind, block.options.get('config'));
  const literal = block.options.get('port');
  const freeForLiteral = literal ? await freePort() : undefined;
  const unordered = block.options.has('unordered');
  const background: { step: Step; job: Job }[] = [];
  const signalled = new Set<Job>();
  t.after(() => {
    for (const { job } of background) job.signal?.('SIGTERM');
  });
  const runs: ({ code: number; output: string } | undefined)[] = [];
  // A paste shows the port the doc's commands name, not the free one the test used.
  const testPort = freeForLiteral ?? broker.port ?? (broker.url ? Number(new URL(broker.url).port) : undefined);
  const docPort = literal ?? docPortOf(block);
  const asDoc = (output: string) => (testPort && docPort ? output.replaceAll(`:${testPort}`, `:${docPort}`) : output);
  if (REPASTE) t.after(() => repastes.push({ block, text: repasted(block, runs.map((r) => r && { ...r, output: asDoc(r.output) }), unordered) }));
  const check = (step: Step, ran: { code: number; output: string }, exit: boolean) => {
    runs[block.steps.indexOf(step)] = ran;
    if (REPASTE) return;
    const problems = compare(step.expected, ran.output.split('\n'), unordered);
    assert.deepEqual(problems, [], `${block.file}:${block.line} $ ${step.command}\n--- printed:\n${ran.output}`);
    if (exit) assert.equal(ran.code, step.exit, `${block.file}:${block.line} $ ${step.command}: exit code\n${ran.output}`);
  };
  for (const step of block.steps) {
    // Only where a port stands: after a colon, `--port` or mosquitto's `listener` (never a QoS 1).
    const command = literal ? step.command.replace(new RegExp(`(?<=:|--port |listener )${literal}\\b`, 'g'), String(freeForLiteral)) : step.command;
    const kill = /^kill(?: -(INT|TERM))? %(\d+)$/.exec(command);
    if (kill) {
      const job = background[Number(kill[2]) - 1]?.job;
      assert.ok(job?.signal, `${command}: no such job, or one that runs in-process`);
      // The in-process jobs end on their own (--count): they finish before the broker they talk to stops.
      await Promise.all(background.filter((b) => !b.job.signal).map((b) => within(b.job.done, STEP_MS)));
      job.signal(`SIG${kill[1] ?? 'TERM'}` as NodeJS.Signals);
      signalled.add(job);
      continue;
    }
    // In a pipeline, the one part that is a command of ours runs in-process; the parts around it run in bash.
    const parts = pipeline(command).map(quietStderr);
    const ours = parts.findIndex(({ part }) => !needsShell(part) && entryOf(words(part, cwd)) !== null);
    const parsed = ours < 0 ? null : entryOf(words(parts[ours]!.part, cwd));
    const before = parts.slice(0, Math.max(ours, 0)).map((p) => p.part).join(' | ');
    const after = parts.slice(ours + 1).map((p) => p.part).join(' | ');
    let job: Job;
    if (!parsed || (parsed.entry === 'broker' && parts.length > 1)) job = shell(command, cwd);
    else if (parsed.entry === 'broker') {
      const args = broker.port ? withPort(parsed.args, broker.port) : parsed.args;
      // What npm tells the script it runs, so the broker's hints say `npm run broker --` as a user's would.
      const env = { npm_command: 'run-script', npm_lifecycle_event: 'broker', npm_lifecycle_script: 'node --import tsx src/bin/broker.ts' };
      const run = runCli('broker', args, { t, env });
      job = spawned(run.child, false);
    } else {
      const into = after ? spawn('bash', ['-c', `exec 2>&1; ${after}`], { cwd, stdio: ['pipe', 'pipe', 'pipe'] }) : undefined;
      const plumbing = { stdin: before ? shellOutput(before, cwd) : Buffer.alloc(0), into, quiet: parts[ours]!.quiet };
      job = inProcess(parsed.entry, broker.url ? withBroker(parsed.args, broker.url, parsed.entry === 'publish' || parsed.entry === 'subscribe') : parsed.args, parsed.typed, plumbing);
    }
    if (step.background) {
      background.push({ step, job });
      const ready = parsed?.entry === 'broker' ? /listening on/ : parsed?.entry === 'subscribe' ? /^subscribed to /m : null;
      if (ready) assert.ok(await within(Promise.race([job.printed(ready), job.done]).then(() => true), READY_MS), `${command}: not ready within ${READY_MS / 1000} s\n${job.output()}`);
      else if (freeForLiteral) await listening(freeForLiteral);
      continue;
    }
    const ran = await within(job.done, STEP_MS);
    assert.ok(ran, `${block.file}:${block.line} $ ${command}: did not end within ${STEP_MS / 1000} s\n${job.output()}`);
    check(step, ran, true);
  }
  // What runs until stopped (a broker) is stopped now, as closing its terminal would; the rest ends by itself.
  // A job the block signalled already is left to finish: a second signal would make it quit at once.
  for (const { job } of background) if (!signalled.has(job)) job.signal?.('SIGTERM');
  for (const { step, job } of background) {
    const ran = await within(job.done, STEP_MS);
    assert.ok(ran, `${block.file}:${block.line} $ ${step.command} &: did not end\n${job.output()}`);
    check(step, ran, false);
  }
}

const cwd = mkdtempSync(join(tmpdir(), 'docs-test-'));
process.chdir(cwd);
test.after(() => {
  rmSync(cwd, { recursive: true, force: true });
  if (REPASTE) writeRepastes(repastes);
});

test('a paste is compared by shape: ports, ids and times may differ, packet lines, their order and extra lines may not', () => {
  const paste = ['send: publish  id=28031 qos=1', 'receive: puback  id=28031', 'Error: the broker at mqtt://127.0.0.1:1883 ... within 2.5 s'];
  assert.deepEqual(compare(paste, ['send: publish  id=7 qos=1', 'receive: puback  id=7', 'Error: the broker at mqtt://127.0.0.1:40213 ... within 2.5 s'], false), []);
  assert.equal(compare(paste, ['send: publish  id=7 qos=1', 'Error: the broker at mqtt://127.0.0.1:1 ... within 2.5 s'], false).length, 1, 'a missing PUBACK');
  assert.equal(compare(paste.slice(0, 2), ['receive: puback  id=7', 'send: publish  id=7 qos=1'], false).length, 1, 'another order');
  assert.deepEqual(compare(paste.slice(0, 2), ['receive: puback  id=7', 'send: publish  id=7 qos=1'], true), [], 'another order, unordered');
  assert.equal(compare(paste.slice(0, 2), ['send: publish  id=7 qos=1', 'receive: puback  id=7', 'send: disconnect'], false).length, 1, 'a line the doc lacks');
  assert.deepEqual(compare(['...', ...paste.slice(0, 2)], ['send: connect', 'send: publish  id=7 qos=1', 'receive: puback  id=7'], false), [], '... leaves lines out');
  assert.equal(compare(['send: publish  id=1 qos=1'], ['send: publish  id=1 qos=2'], false).length, 1, 'a QoS is not a number to ignore');
});

test('blocks: the marker, $ commands, & and (exit N); a $ block without a marker is reported', () => {
  const file = join(cwd, 'sample.md');
  writeFileSync(file, ['<!-- runnable: broker=aedes unordered -->', '```console', '$ sub --count 1 &   # terminal 2', 'message #1', '$ pub', '(exit 4)', '```', '', '```', '$ forgotten', '```', ''].join('\n'));
  const { blocks, unmarked } = readBlocks(file);
  assert.equal(blocks.length, 1);
  assert.deepEqual([...blocks[0]!.options.keys()], ['broker', 'unordered']);
  assert.deepEqual(blocks[0]!.steps.map((s) => [s.command, s.background, s.expected, s.exit]), [['sub --count 1', true, ['message #1'], 0], ['pub', false, [], 4]]);
  assert.deepEqual(unmarked.map((u) => u.line), [9]);
});

test('every block of README.md, lab.md, edges.md and faults.md with $ commands says whether it runs', () => {
  const unmarked = MARKED.flatMap((f) => readBlocks(join(ROOT, f)).unmarked).map((u) => `${u.file.slice(ROOT.length + 1)}:${u.line}`);
  assert.deepEqual(unmarked, [], 'add <!-- runnable --> or <!-- not runnable: why --> before each');
});

const blocks = DOCS.flatMap((file) => readBlocks(join(ROOT, file)).blocks.map((block) => ({ file, block })));
/** Blocks against a misbehaving broker mostly wait out a bound (10 s for the scenario): they write no files, so they run beside the others. */
const waiting = ({ block }: { block: Block }) => block.options.get('broker')?.startsWith('hostile.') ?? false;

describe('the docs, block by block', { concurrency: 2 }, () => {
  for (const [name, group] of [
    ['against a misbehaving broker', blocks.filter(waiting)],
    ['the others, one at a time (they share one folder)', blocks.filter((b) => !waiting(b))],
  ] as const) {
    describe(name, () => {
      for (const { file, block } of group) {
        test(`${file}:${block.line} $ ${block.steps[0]?.command ?? ''}`, { skip: skipReason(block) }, (t) => runBlock(t, block, cwd));
      }
    });
  }
});
