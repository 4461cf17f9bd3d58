// Spawn the real CLIs (TypeScript entries through tsx, as a learner's
// ts-node would run them) and read their output as it arrives.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface Run {
  child: ChildProcess;
  /** Resolves with the stdout seen so far once a line matching `pattern` appears. */
  waitFor(pattern: RegExp): Promise<string>;
  /** Resolves when the process exits. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stdout(): string;
}

/** Runs src/<entry>.ts with args; NO_COLOR so output is plain text. */
export function runCli(entry: 'publish' | 'subscribe' | 'broker' | 'lab' | 'scenario' | 'chaos' | 'bench', args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', `${entry}.ts`), ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve: (s: string) => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.pattern.test(out)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(out);
      }
    }
  };
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const done = once(child, 'close').then(([code]) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${entry} exited (${code}) before ${w.pattern}; stdout:\n${out}\nstderr:\n${err}`));
    return { code: code as number | null, stdout: out, stderr: err };
  });
  return {
    child,
    done,
    stdout: () => out,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve, reject });
        check();
      }),
  };
}

/** The packet lines (`send: x` / `receive: x`) of an output, in order. */
export function packetLines(output: string): string[] {
  return output.split('\n').filter((l) => /^(send|receive): /.test(l)).map((l) => l.split('  ')[0]!);
}
