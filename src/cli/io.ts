// What a command's main() talks to: its output streams and environment.
// Entries default to the process's; tests pass their own, so an integration
// test can call main() in-process and read exactly what a user would see.
import type { Readable } from 'node:stream';

export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** What -s, -f - and -l read; process.stdin when left out. */
  in?: Readable;
}

export function processIo(): Io {
  return {
    out: process.stdout,
    err: process.stderr,
    env: process.env,
    // Only a command that reads stdin touches it: made on first use, so nothing else holds it open.
    get in() {
      return process.stdin;
    },
  };
}
