// The only place that touches process exit state: a tool's main() returns an
// exit code or throws, and this turns that into one line and process.exitCode.
import { EXIT, errorLine, exitCodeOf } from './errors';

export type Main = (argv: string[]) => Promise<number>;

export function runMain(tool: string, main: Main): void {
  quietOnClosedPipe(process.stdout);
  // A throw inside an event handler (a socket, a file) never reaches main's promise: still one line, never a stack.
  process.on('uncaughtException', (error) => {
    process.stderr.write(`${errorLine(error, tool)}\n`);
    process.exit(exitCodeOf(error));
  });
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

/**
 * `npm start | head` closes stdout early: stop quietly, as shell tools do,
 * instead of dying on an unhandled EPIPE with a stack trace.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    // A command that handles its own closed stdout (the tools keep publishing) has its own listener.
    if (stream.listenerCount('error') > 1) return;
    if (error.code !== 'EPIPE') throw error;
    process.exit(EXIT.ok);
  });
}
