// What a command's main() talks to: its output streams and environment.
// Entries default to the process's; tests pass their own, so an integration
// test can call main() in-process and read exactly what a user would see.

export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export function processIo(): Io {
  return { out: process.stdout, err: process.stderr, env: process.env };
}
