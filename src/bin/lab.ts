#!/usr/bin/env node
// npm start: the QoS lab. No setup: it starts its own broker on loopback.
import { EXIT } from '../cli/errors';
import { processIo, type Io } from '../cli/io';
import { runMain } from '../cli/main';
import { interrupted, isSignal, SIGNAL_EXIT } from '../cli/signals';
import { labVerdict, runLab } from '../lab/run-lab';
import { useColor } from '../mqtt/format';
import { within } from '../mqtt/wait';
import { parseLab } from '../cli/options/lab';
import { COMMANDS, OLD_TRACE_NOTE } from '../cli/options/parse';
import { openOutputFile } from '../cli/output-file';
const STOP_MS = 2000; // after Ctrl-C, how long the pair in flight may take to end before the lab stops regardless

/** Everything goes to io.out; a broker that broke a rule or never answered is thrown (one line on stderr, exit 6 or 4) after the full result. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const parsed = parseLab(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  if (options.trace?.flag === 'json') io.err.write(`${OLD_TRACE_NOTE}\n`);
  // Opened before the broker starts: a bad path is one line before anything runs.
  const trace = options.trace && openOutputFile(options.trace.flag, options.trace.path);
  const [signal, abort] = [interrupted(), new AbortController()];
  try {
    const running = runLab(options, { verbose: options.display.verbose, color: useColor(options.display.color, io.out, io.env) }, (line) => io.out.write(`${line}\n`), abort.signal, trace);
    const first = await Promise.race([running, signal.promise]);
    if (isSignal(first)) {
      const code = SIGNAL_EXIT[first];
      abort.abort();
      // A second signal quits at once (process.exit still runs the 'exit' hook that stops mosquitto).
      for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => process.exit(code));
      io.out.write('\ninterrupted: ending the pair in flight and stopping the broker (Ctrl-C again quits at once)\n');
      if ((await within(running.catch(() => []), STOP_MS)) === null) process.exit(code); // --ack-timeout may be long
      return code;
    }
    const verdict = labVerdict(first);
    if (verdict) throw verdict;
    return EXIT.ok;
  } finally {
    signal.dispose();
  }
}

if (require.main === module) runMain(COMMANDS.lab, main);
