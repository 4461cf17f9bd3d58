// A file the lab or a tool writes (--json, --mermaid): opened before any
// work, so a bad path is one clear line before anything runs.
import { closeSync, openSync, writeSync } from 'node:fs';
import { UsageError } from './errors';

export interface OutputFile {
  path: string;
  write(text: string): void;
  close(): void;
}

export function openOutputFile(flag: string, path: string): OutputFile {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`--${flag} '${path}': cannot write this file (${code})`);
  }
  let open = true;
  return {
    path,
    // Synchronous writes: a trace stays complete up to the last packet even if the tool is interrupted.
    write: (text) => {
      if (open) writeSync(fd, text);
    },
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
