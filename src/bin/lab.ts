#!/usr/bin/env node
// npm start: the QoS lab. No setup: it starts its own broker on loopback.
import { EXIT } from '../cli/errors';
import { processIo, type Io } from '../cli/io';
import { runMain } from '../cli/main';
import { untilSignal } from '../cli/signals';
import { labVerdict, runLab } from '../lab/run-lab';
import { useColor } from '../mqtt/format';
import { parseLab } from '../cli/options/lab';
import { publicBrokerNote } from '../cli/options/broker-url';
import { COMMANDS, OLD_TRACE_NOTE } from '../cli/options/parse';
import { openOutputFile, takesStdout } from '../cli/output-file';
import { main as webMain } from './web';
const STOP_MS = 2000; // after Ctrl-C, how long the pair in flight may take to end before the lab stops regardless

/** Everything goes to io.out; a broker that broke a rule or never answered is thrown (one line on stderr, exit 6 or 4) after the full result. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  if (argv.includes('--web')) return webMain(argv, io); // the same lab, drawn in a browser (npm run web)
  const parsed = parseLab(argv, io.env);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  if (options.trace?.flag === 'json') io.err.write(`${OLD_TRACE_NOTE}\n`);
  const publicNote = options.lab.url === undefined ? null : publicBrokerNote(options.lab.url);
  if (publicNote) io.err.write(`${publicNote}\n`);
  // `--trace -` or `--mermaid -`: stdout carries that file alone, the lab's lines go to stderr.
  const out = takesStdout(options.trace?.path, options.mermaid) ? io.err : io.out;
  // Opened before the broker starts: a bad path is one line before anything runs.
  const trace = options.trace && openOutputFile(options.trace.flag, options.trace.path, io.out);
  const mermaid = options.mermaid === undefined ? undefined : openOutputFile('mermaid', options.mermaid, io.out);
  const style = { verbose: options.display.verbose, color: useColor(options.display.color, out, io.env) };
  const ran = await untilSignal((stop) => runLab({ lab: options.lab, mermaid }, style, (line) => out.write(`${line}\n`), stop, trace), STOP_MS, () =>
    out.write('\ninterrupted: ending the pair in flight and stopping the broker (Ctrl-C again quits at once)\n'),
  );
  if ('code' in ran) return ran.code;
  const verdict = labVerdict(ran.done);
  if (verdict) throw verdict;
  return EXIT.ok;
}

if (require.main === module) runMain(COMMANDS.lab, main);
