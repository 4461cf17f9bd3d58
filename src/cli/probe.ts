// The probe's entry work: open the files asked for, run the battery, print the
// card as each answer comes (or the JSON object at the end), and map the card to
// an exit code: a broken rule is EXIT.violation (6).
import { traceWriter } from '../mqtt/trace';
import { useColor } from '../mqtt/format';
import { answerLine, brokenPromises, footer, heading, json, markdown } from '../probe/card';
import type { Answer } from '../probe/answer';
import type { ProbeLimits } from '../probe/probe';
import { runProbe } from '../probe/run';
import { EXIT, type ExitCode } from './errors';
import type { Io } from './io';
import type { ProbeCliOptions } from './options/probe';
import type { Parsed } from './options/parse';
import { openOutputFile, takesStdout } from './output-file';

export async function probeMain(parsed: Parsed<ProbeCliOptions>, io: Io, limits: ProbeLimits): Promise<ExitCode> {
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  // Opened before the broker starts: a bad path is one line before anything runs.
  const traceFile = options.trace === undefined ? undefined : openOutputFile('trace', options.trace, io.out);
  const markdownFile = options.markdown === undefined ? undefined : openOutputFile('markdown', options.markdown, io.out);
  const trace = traceFile && traceWriter(traceFile);
  // With `--trace -` or `--markdown -` stdout is that file's: the card goes to stderr.
  const cardStream = takesStdout(options.trace, options.markdown) ? io.err : io.out;
  const color = useColor(options.color, cardStream, io.env);
  const print = (line: string) => cardStream.write(`${line}\n`);
  try {
    const hooks = options.json ? {} : { onBroker: (broker: string) => print(heading({ broker })), onAnswer: (a: Answer) => print(answerLine(a, color)) };
    const report = await runProbe(options.probe, hooks, trace, limits);
    if (options.json) io.out.write(json(report, options.trace));
    else for (const line of footer(report, options.trace)) print(line);
    markdownFile?.write(markdown(report, options.trace));
    return brokenPromises(report).length > 0 ? EXIT.violation : EXIT.ok;
  } finally {
    trace?.close();
    markdownFile?.close();
  }
}
