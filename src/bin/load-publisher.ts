// The load test's publisher process (src/bench/load-publisher.ts does the work):
// one JSON line with its report, or one error line and the exit code it stands
// for, which src/bench/load.ts makes its own. Not a user-facing tool.
import { run, type PublisherJob } from '../bench/load-publisher';
import { errorLine, exitCodeOf } from '../cli/errors';

if (require.main === module) {
  // The load process holds our stdin open; when it is gone (SIGKILL too), so are we. unref: our own end is the run's.
  process.stdin.on('end', () => process.exit(0)).resume();
  (process.stdin as NodeJS.ReadStream & { unref?(): void }).unref?.();
  run(JSON.parse(process.argv[2] ?? '{}') as PublisherJob).then(
    (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
    (error: unknown) => {
      // One line and the exit code it stands for: src/bench/load.ts makes them its own.
      process.stderr.write(`${errorLine(error, 'load publisher')}\n`);
      process.exitCode = exitCodeOf(error);
    },
  );
}
