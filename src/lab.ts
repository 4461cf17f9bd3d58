#!/usr/bin/env node
// npm start: the QoS lab. No setup: it starts its own broker on loopback.
import { EXIT } from './cli/errors';
import { processIo, type Io } from './cli/io';
import { runMain } from './cli/main';
import { parseLab } from './cli/options/lab';
import { interrupted, isSignal, SIGNAL_EXIT } from './cli/signals';
import { useColor } from './mqtt/format';
import { labVerdict, runLab } from './lab/run-lab';
import { within } from './mqtt/wait';
import { COMMANDS } from './cli/options/parse';

/** After Ctrl-C, how long the pair in flight may take to end (its waits are bounded anyway) before the lab stops regardless. */
const STOP_MS = 2000;

/** Everything goes to io.out; a broker that broke a rule or never answered is thrown (one line on stderr, exit 6 or 4) after the full result. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const parsed = parseLab(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  const style = { verbose: options.display.verbose, color: useColor(options.display.color, io.out, io.env) };
  const signal = interrupted();
  const abort = new AbortController();
  try {
    const running = runLab(options, style, (line) => io.out.write(`${line}\n`), abort.signal);
    const first = await Promise.race([running, signal.promise]);
    if (isSignal(first)) {
      abort.abort();
      const code = SIGNAL_EXIT[first];
      // A second signal quits at once; process.exit, unlike Node's default, still runs the 'exit' hook that stops a mosquitto we started.
      for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => process.exit(code));
      io.out.write('\ninterrupted: ending the pair in flight and stopping the broker (Ctrl-C again quits at once)\n');
      // The pair's waits are bounded, but by --ack-timeout, which may be long: a signal must end the lab sooner.
      if ((await within(running.catch(() => []), STOP_MS)) === null) process.exit(code);
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
