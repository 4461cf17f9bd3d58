// The two tools and the lab run in-process through main(argv, io), with their own streams:
// what a user would see, without the cost of a spawn.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import type { ExitCode } from '../../src/cli/errors';
import type { Io } from '../../src/cli/io';
import { settle } from '../../src/cli/main';
import { TOOL_NAMES } from '../../src/cli/options';
import { COMMANDS } from '../../src/cli/options/parse';
import { main as lab } from '../../src/bin/lab';
import { main as publish } from '../../src/publish';
import { main as subscribe } from '../../src/subscribe';

type Command = 'publish' | 'subscribe' | 'lab';
const MAINS: Record<Command, { name: string; main: (argv: string[], io: Io) => Promise<number> }> = {
  publish: { name: TOOL_NAMES.publish, main: publish },
  subscribe: { name: TOOL_NAMES.subscribe, main: subscribe },
  lab: { name: COMMANDS.lab, main: lab },
};

export interface Outcome {
  code: number;
  out: string;
  /** stdout as bytes (payloads written alone there are raw). */
  outBytes: Buffer;
  err: string;
  ms: number;
}

export interface Running {
  done: Promise<Outcome>;
  /** Resolves once stdout or stderr so far matches. */
  waitFor(pattern: RegExp): Promise<void>;
}

/** Starts a tool; `out` may be replaced (e.g. by a stream that fails like a closed pipe). */
export function start(tool: Command, argv: string[], options: { env?: NodeJS.ProcessEnv; out?: Io['out'] } = {}): Running {
  const out = options.out ?? new PassThrough();
  const err = new PassThrough();
  let outText = '';
  let errText = '';
  const outChunks: Buffer[] = [];
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) if (w.pattern.test(`${outText}\n${errText}`)) waiters.splice(waiters.indexOf(w), 1) && w.resolve();
  };
  if (out instanceof PassThrough) out.on('data', (d: Buffer) => (outChunks.push(d), (outText += d.toString()), check()));
  err.on('data', (d: Buffer) => ((errText += d.toString()), check()));
  const io: Io = { out, err, env: { NO_COLOR: '1', ...options.env } };
  const { name, main } = MAINS[tool];
  const started = performance.now();
  const done = settle(name, (a) => main(a, io), argv, (line) => (errText += line)).then((code) => ({ code, out: outText, outBytes: Buffer.concat(outChunks), err: errText, ms: performance.now() - started }));
  return {
    done,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ pattern, resolve });
        check();
        void done.then(() => setImmediate(() => reject(new Error(`${tool} ended before stdout matched ${pattern}:\n${outText}\n${errText}`))));
      }),
  };
}

export function run(tool: Command, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return start(tool, argv, { env }).done;
}

export function assertOneError(o: Outcome, code: ExitCode, words: RegExp, withinMs: number): void {
  const errors = `${o.out}\n${o.err}`.split('\n').filter((l) => l.startsWith('Error: '));
  assert.equal(errors.length, 1, `exactly one Error: line, got:\n${o.out}\n${o.err}`);
  assert.match(errors[0]!, words);
  assert.doesNotMatch(o.err, /^\s+at /m, 'no stack trace');
  assert.equal(o.code, code, errors[0]);
  assert.ok(o.ms < withinMs, `ended in ${o.ms.toFixed(0)} ms, bound ${withinMs} ms`);
}

/** The packet lines (`send: x  details`) of an output, whole. */
export function packetLinesFull(output: string): string[] {
  return output.split('\n').filter((l) => /^(send|receive): /.test(l));
}
