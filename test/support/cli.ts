// Spawn the real CLIs (TypeScript entries through tsx, as a learner's
// ts-node would run them) and read their output as it arrives.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const ROOT = join(__dirname, '..', '..');

export interface Run {
  child: ChildProcess;
  /** Resolves with the stdout seen so far once it matches `pattern`; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<string>;
  /** The same on stderr (where --log=stderr puts the packet log). */
  waitForStderr(pattern: RegExp): Promise<string>;
  /** Resolves when the process exits. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stdout(): string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** The test that owns the process: a child still running when it ends is killed. */
  t?: TestContext;
}

type Stream = 'stdout' | 'stderr';

type Entry = 'publish' | 'subscribe' | 'broker' | 'lab' | 'scenario' | 'chaos' | 'bench' | 'load' | 'probe';

/** The lesson's two tools stay at src/; every other entry is in src/bin/. */
function entryPath(entry: Entry): string {
  return entry === 'publish' || entry === 'subscribe' ? join(ROOT, 'src', `${entry}.ts`) : join(ROOT, 'src', 'bin', `${entry}.ts`);
}

/** Runs the entry with args; NO_COLOR so output is plain text. */
export function runCli(entry: Entry, args: string[], { env = {}, t }: RunOptions = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', entryPath(entry), ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seen: Record<Stream, string> = { stdout: '', stderr: '' };
  const waiters: { stream: Stream; pattern: RegExp; resolve: (s: string) => void; reject: (e: Error) => void }[] = [];
  // Patterns are matched against everything seen so far, not chunk by chunk: a line can span two chunks.
  const check = () => {
    for (const w of [...waiters]) {
      if (w.pattern.test(seen[w.stream])) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(seen[w.stream]);
      }
    }
  };
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]!.on('data', (d: Buffer) => {
      seen[stream] += d.toString();
      check();
    });
  }
  const done = once(child, 'close').then(([code]) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${entry} exited (${code}) before ${w.stream} matched ${w.pattern}; stdout:\n${seen.stdout}\nstderr:\n${seen.stderr}`));
    return { code: code as number | null, stdout: seen.stdout, stderr: seen.stderr };
  });
  t?.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // A test may have frozen it (SIGSTOP): a stopped process holds SIGTERM until it is continued.
    child.kill('SIGCONT');
    child.kill();
    await done;
  });
  const waitOn = (stream: Stream) => (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      waiters.push({ stream, pattern, resolve, reject });
      check();
    });
  return {
    child,
    done,
    stdout: () => seen.stdout,
    waitFor: waitOn('stdout'),
    waitForStderr: waitOn('stderr'),
  };
}

/** The packet lines (`send: x` / `receive: x`) of an output, in order. */
export function packetLines(output: string): string[] {
  return output.split('\n').filter((l) => /^(send|receive): /.test(l)).map((l) => l.split('  ')[0]!);
}
