// The only place that touches process exit state: a tool's main() returns an
// exit code or throws, and this turns that into one line and process.exitCode.
import { errorLine, exitCodeOf } from './errors';

export type Main = (argv: string[]) => Promise<number>;

export function runMain(tool: string, main: Main): void {
  void settle(tool, main, process.argv.slice(2), (line) => process.stderr.write(line)).then((code) => {
    process.exitCode = code;
  });
}

/** Runs main to an exit code, writing an error as its one line: what runMain does, callable from tests. */
export function settle(tool: string, main: Main, argv: string[], writeError: (line: string) => void): Promise<number> {
  return main(argv).then(
    (code) => code,
    (error: unknown) => {
      writeError(`${errorLine(error, tool)}\n`);
      return exitCodeOf(error);
    },
  );
}
