// Running scenario, chaos, bench and load in-process against a misbehaving
// broker (test/support/hostile-broker.ts): injected streams, short bounds, and
// the checks every such case makes (one `Error:` line, the code, an end in time).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { performance } from 'node:perf_hooks';
import type { ExitCode } from '../../src/cli/errors';
import type { Io } from '../../src/cli/io';
import { settle } from '../../src/cli/main';
import { COMMANDS } from '../../src/cli/options/parse';
import { main as chaos } from '../../src/bin/chaos';
import { main as scenario } from '../../src/bin/scenario';
import { main as bench } from '../../src/bin/bench';
import { main as load } from '../../src/bin/load';
import { hostileBroker, type HostileOptions } from './hostile-broker';

/** Short bounds: an answer within 400 ms, a chaos publisher stalled after 800 ms. */
export const ANSWER_MS = 400;
export const LIMITS = { answerMs: ANSWER_MS, stallMs: 800 };

export interface Outcome {
  code: number;
  out: string;
  err: string;
  ms: number;
}

export function sink(): { stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

export type Command = 'chaos' | 'scenario' | 'bench' | 'load';

export async function run(command: Command, argv: string[]): Promise<Outcome> {
  const out = sink();
  const err = sink();
  const io: Io = { out: out.stream, err: err.stream, env: { NO_COLOR: '1' } };
  const mains = {
    chaos: (a: string[]) => chaos(a, io, LIMITS),
    scenario: (a: string[]) => scenario(a, io, LIMITS),
    bench: (a: string[]) => bench(a, io, LIMITS),
    load: (a: string[]) => load(a, io, LIMITS),
  };
  const started = performance.now();
  let stderr = '';
  const code = await settle(COMMANDS[command], mains[command], argv, (line) => (stderr += line));
  return { code, out: out.text(), err: err.text() + stderr, ms: performance.now() - started };
}

export async function against(t: TestContext, hostile: HostileOptions, command: Command, args: string[]): Promise<Outcome> {
  const broker = await hostileBroker(t, hostile);
  const argv = command === 'scenario' ? ['offline', '--broker', broker.url, ...args] : ['--broker', broker.url, ...args];
  return run(command, argv);
}

export function oneError(outcome: Outcome, code: ExitCode, words: RegExp): void {
  const lines = outcome.err.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `exactly one stderr line, got:\n${outcome.err}\nstdout:\n${outcome.out}`);
  assert.match(lines[0]!, /^Error: /);
  assert.match(lines[0]!, words);
  assert.equal(outcome.code, code, lines[0]);
}

export function within(outcome: Outcome, ms: number): void {
  assert.ok(outcome.ms < ms, `ended after ${outcome.ms.toFixed(0)} ms, bound ${ms} ms`);
}

export const CHAOS = ['--count', '60', '--rate', '300', '--fault', 'every:5000-6000'];
export const BENCH = ['--count', '50', '--idle', '0.5'];
export const LOAD = ['--seconds', '1', '--rate', '200'];

