// The only place that touches process exit state: a tool's main() returns an
// exit code or throws, and this turns that into one line and process.exitCode.
import { basename, isAbsolute, relative } from 'node:path';
import { EXIT, errorLine, exitCodeOf } from './errors';
import { startedAsName } from './explain';

export type Main = (argv: string[]) => Promise<number>;

/** `tool` is the command's COMMANDS name; its help and hints call it as this process was started. */
export function runMain(tool: string, main: Main): void {
  startedAsName(tool, startedAs(tool, processStart()));
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

/** What a process knows of how it was started: process.argv, execArgv, env and cwd. */
export interface Start {
  argv: readonly string[];
  execArgv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

function processStart(): Start {
  return { argv: process.argv, execArgv: process.execArgv, env: process.env, cwd: process.cwd() };
}

/** The package's bins (package.json "bin"): run from PATH (npm link, a global install) they are called by name. */
export const BINS = ['publish-with-qos', 'subscribe-with-qos', 'mqtt-qos-bench', 'mqtt-qos-probe'];

/**
 * The command line the user typed, up to the options: `npm start --`, `npm run chaos --`,
 * `npx ts-node src/publish.ts`, `node dist/publish.js`, `publish-with-qos`. `fallback`
 * (the documented name) when nothing says (no script in argv).
 */
export function startedAs(fallback: string, start: Start): string {
  const script = start.argv[1];
  if (script === undefined) return fallback;
  const { env } = start;
  const file = relative(start.cwd, script);
  const shown = file.startsWith('..') || isAbsolute(file) ? script : file;
  // An npm script runs in the package root; one that names this file is the one typed (`npm test` spawning a tool is not).
  const lifecycle = env.npm_lifecycle_event;
  if (lifecycle && lifecycle !== 'npx' && ['run', 'run-script', 'start'].includes(env.npm_command ?? '') && (env.npm_lifecycle_script ?? '').includes(file)) {
    return lifecycle === 'start' ? 'npm start --' : `npm run ${lifecycle} --`;
  }
  const npx = env.npm_command === 'exec' && lifecycle === 'npx' ? 'npx ' : '';
  const runners = [start.argv[0] ?? '', ...start.execArgv];
  if (runners.some((word) => /[\\/]ts-node([\\/]dist[\\/]bin\.js)?$/.test(word))) return `${npx}ts-node ${shown}`;
  if (runners.some((word) => /[\\/]tsx[\\/]dist[\\/]/.test(word))) return `${npx}tsx ${shown}`;
  if (start.execArgv.includes('tsx')) return `node --import tsx ${shown}`;
  if (BINS.includes(basename(script))) return `${npx}${basename(script)}`;
  return `node ${shown}`;
}
