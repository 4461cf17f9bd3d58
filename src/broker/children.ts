// Child processes that die with us (mosquitto, the load test's broker and
// publisher, bench:compare's C clients), with their temp folders, on every way
// out: a normal close, an error, an uncaught exception, SIGINT or SIGTERM.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { within } from '../mqtt/wait';

interface Owned {
  child: ChildProcess;
  /** Removed once the child is gone. */
  dir?: string;
}

const owned = new Set<Owned>();
/** How long a child gets to stop after SIGTERM before SIGKILL. */
const STOP_MS = 2000;

/** Keeps `child` (and `dir`) tied to this process; the returned stop() ends it, bounded, and removes `dir`. */
export function adopt(child: ChildProcess, dir?: string): () => Promise<void> {
  const entry: Owned = { child, dir };
  owned.add(entry);
  if (owned.size === 1) process.on('exit', killAllNow);
  return () => stop(entry);
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function stop(entry: Owned): Promise<void> {
  const { child } = entry;
  if (running(child) && child.pid !== undefined) {
    // Not once(): that rejects on an 'error' event, and the entry and its folder must go either way.
    const exited = new Promise<unknown>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    if ((await within(exited, STOP_MS)) === null) {
      child.kill('SIGKILL');
      await within(exited, STOP_MS);
    }
  }
  if (entry.dir) rmSync(entry.dir, { recursive: true, force: true });
  owned.delete(entry);
  if (owned.size === 0) process.off('exit', killAllNow);
}

/** Stops every child we own, each bounded; for the way out on a signal. */
async function stopAll(): Promise<void> {
  await Promise.all([...owned].map(stop));
}

/**
 * The last resort, on process 'exit' (process.exit() after an uncaught
 * exception): nothing async runs any more, so SIGKILL and wait, synchronously
 * and briefly, until each child is dead, then remove its folder.
 */
function killAllNow(): void {
  for (const { child, dir } of owned) {
    if (running(child) && child.pid !== undefined) {
      child.kill('SIGKILL');
      waitDeadSync(child.pid, 500);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  owned.clear();
}

/** Until /proc says the process is gone or a zombie (dead; its parent reaps it), at most `ms`. Linux only; elsewhere it returns at once. */
function waitDeadSync(pid: number, ms: number): void {
  const until = Date.now() + ms;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < until) {
    let state: string;
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? 'X';
    } catch {
      return;
    }
    if (state === 'Z' || state === 'X') return;
    Atomics.wait(pause, 0, 0, 5);
  }
}

/**
 * For the entries that start children: SIGINT ends the process with 130 and
 * SIGTERM with 143, after stopping the children (bounded); a second signal
 * ends it at once (the 'exit' hook still kills what is left).
 */
export function exitOnSignals(): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const code = 128 + constants.signals[signal]; // as shells report it: 130, 143
    if (stopping) process.exit(code);
    stopping = true;
    void within(stopAll(), 2 * STOP_MS + 500).finally(() => process.exit(code));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * A child process of ours failed: its last error line, and its exit code when
 * it is one of our commands (null: an outside tool, its code means nothing to us).
 * The command line passes a code of ours on, and calls anything else a protocol failure.
 */
export class ChildFailed extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'ChildFailed';
  }
}

/**
 * Waits, bounded, until a child we started prints `banner` on stdout or
 * stderr; rejects naming its last line if it exits first or stays silent.
 * `log()` is everything it printed (the banner is looked for only until seen:
 * a long run's log keeps growing).
 */
export function untilReady(child: ChildProcess, name: string, banner: RegExp, ms: number): { ready: Promise<void>; log(): string } {
  let output = '';
  const last = () => output.trim().split('\n').at(-1) || '(it printed nothing)';
  const ready = new Promise<void>((resolve, reject) => {
    let up = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!up && banner.test(output)) {
        up = true;
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready: ${last()}`)));
    child.once('error', reject);
  });
  const bounded = within(ready, ms).then((up) => {
    if (up === null) throw new Error(`${name} did not say it was ready within ${ms / 1000} s: ${last()}`);
  });
  return { ready: bounded, log: () => output };
}
