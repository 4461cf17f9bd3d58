// The load test's embedded broker, run as its own process: in the load
// process its memory would be counted as the subscriber's. It calls the same
// start() every command uses and prints `{"url":...}` as one JSON line, then
// serves until it is stopped (SIGTERM from the load process, which adopted it).
// Not a user-facing tool: src/bench/load.ts starts it.
import { exitOnSignals } from '../broker/children';
import { start } from '../broker/start';
import { errorLine, exitCodeOf } from '../cli/errors';

if (require.main === module) {
  exitOnSignals();
  start('aedes').then(
    (broker) => process.stdout.write(`${JSON.stringify({ url: broker.url })}\n`),
    (error: unknown) => {
      process.stderr.write(`${errorLine(error, 'load broker')}\n`);
      process.exitCode = exitCodeOf(error);
    },
  );
}
