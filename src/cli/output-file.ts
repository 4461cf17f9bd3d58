// A file the lab, a tool or the bench writes (--trace, --mermaid): opened before
// any work, so a bad path is one clear line before anything runs; a write that
// fails later (a full disk) is one line naming the flag too, never a raw ENOSPC.
// `-` is stdout, as Unix tools have it: the command then writes its own lines to stderr.
import { closeSync, openSync, writeSync } from 'node:fs';
import { CliError, EXIT, UsageError } from './errors';

export interface OutputFile {
  path: string;
  write(text: string): void;
  /** Throws if a write failed: the file is incomplete, and the run must not end as if it were not. */
  close(): void;
}

/** The file name that means stdout. */
export const STDOUT = '-';

/** Whether any of these file flags' values is `-`: that command's stdout belongs to the file. */
export function takesStdout(...paths: (string | undefined)[]): boolean {
  const taken = paths.filter((path) => path === STDOUT).length;
  if (taken > 1) throw new UsageError(`only one file flag can be '-' (stdout): give the others a file name`);
  return taken === 1;
}

/** `stdout` is the command's (io.out): what `-` writes to. */
export function openOutputFile(flag: string, path: string, stdout: NodeJS.WritableStream = process.stdout): OutputFile {
  // Never closed: stdout is the process's; a closed pipe (`| head`) ends the process quietly (cli/main.ts).
  if (path === STDOUT) return { path: 'stdout', write: (text) => void stdout.write(text), close: () => undefined };
  const cannot = (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOSPC' ? 'no space left on the device' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : code === 'ENOENT' ? 'no such folder' : code;
    return `--${flag} '${path}': cannot write this file (${why})`;
  };
  let fd: number;
  try {
    fd = openSync(path, 'w');
    // An empty write still reaches the device: /dev/full (or a read-only mount) fails here, before any work.
    writeSync(fd, '');
  } catch (error) {
    throw new UsageError(cannot(error));
  }
  let open = true;
  let failed: CliError | undefined;
  return {
    path,
    // Synchronous writes: a trace stays complete up to the last packet even if the tool is interrupted.
    // A failure is kept, not thrown: writes happen inside packet events, where a throw would break the client.
    write: (text) => {
      if (!open || failed) return;
      try {
        writeSync(fd, text);
      } catch (error) {
        failed = new CliError(`${cannot(error)}; it is incomplete`, EXIT.usage);
      }
    },
    close: () => {
      if (open) closeSync(fd);
      open = false;
      const error = failed;
      failed = undefined;
      if (error) throw error;
    },
  };
}
