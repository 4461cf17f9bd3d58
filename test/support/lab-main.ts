// The lab's main() in-process, as runMain would run it: its stdout, the one
// stderr line settle() writes for an error, the exit code and how long it took.
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Io } from '../../src/cli/io';
import { settle } from '../../src/cli/main';
import { COMMANDS } from '../../src/cli/options/parse';
import { main } from '../../src/lab';

export interface LabRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export async function runLabMain(argv: string[]): Promise<LabRun> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  err.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const io: Io = { out, err, env: { NO_COLOR: '1' } };
  const started = performance.now();
  const code = await settle(COMMANDS.lab, (args) => main(args, io), argv, (line) => err.write(line));
  return { code, stdout, stderr, ms: performance.now() - started };
}
