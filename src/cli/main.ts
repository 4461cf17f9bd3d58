// The only place that touches process exit state: a tool's main() returns an
// exit code or throws, and this turns that into one line and process.exitCode.
import { errorLine, exitCodeOf } from './errors';

export type Main = (argv: string[]) => Promise<number>;

export function runMain(tool: string, main: Main): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${errorLine(error, tool)}\n`);
      process.exitCode = exitCodeOf(error);
    },
  );
}
