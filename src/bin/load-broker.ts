// The load test's embedded broker, run as its own process: in the load
// process its memory would be counted as the subscriber's. It calls the same
// start() every command uses and prints `{"url":...}` as one JSON line, then
// serves until it is stopped (SIGTERM from the load process, which adopted it,
// or the end of its stdin when the load process died without one).
// Not a user-facing tool: src/bench/load.ts starts it.
import { exitOnSignals } from '../broker/children';
import { start } from '../broker/start';
import { errorLine, exitCodeOf } from '../cli/errors';

if (require.main === module) {
  exitOnSignals();
  // The load process holds our stdin open; when it is gone, however it went, so are we.
  process.stdin.on('end', () => process.exit(0)).resume();
  start('aedes').then(
    (broker) => process.stdout.write(`${JSON.stringify({ url: broker.url })}\n`),
    (error: unknown) => {
      process.stderr.write(`${errorLine(error, 'load broker')}\n`);
      process.exitCode = exitCodeOf(error);
    },
  );
}
