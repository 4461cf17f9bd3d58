// The only place that touches process exit state: a tool's main() returns an
// exit code or throws, and this turns that into one line and process.exitCode.
import { EXIT, errorLine, exitCodeOf } from './errors';

export type Main = (argv: string[]) => Promise<number>;

export function runMain(tool: string, main: Main): void {
  quietOnClosedPipe(process.stdout);
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

/**
 * `npm start | head` closes stdout early: stop quietly, as shell tools do,
 * instead of dying on an unhandled EPIPE with a stack trace.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(EXIT.ok);
  });
}
