// The docs' runnable blocks: how they are marked, read, and compared with a real run.
//
// A fenced block runs when the line just before its fence is `<!-- runnable -->` or
// `<!-- runnable: OPTIONS -->`; `<!-- not runnable: WHY -->` says why another is not.
// Inside the block, `$ COMMAND` lines are commands, and the lines after each, up to the
// next `$`, are what it printed (stdout and stderr together); `(exit N)` is its exit code
// (0 when absent); `...` stands for lines left out. `$ COMMAND &` keeps running while the
// next commands run, as in a shell (the subscriber of the lesson's second terminal);
// `$ kill -INT %1` signals it (once the jobs that end by themselves have ended).
// OPTIONS, space-separated:
//   broker=aedes|mosquitto|hostile.NAME|started  where the tools' --broker points (rewritten,
//       or added where the command has none): a fresh embedded broker, a fresh mosquitto, a
//       HOSTILE broker of test/support/hostile-broker.ts, or the block's own `npm run broker`
//       (its --port set to a free one). Without broker=, commands run as written.
//   port=N        the literal port N in every command becomes a free port (a recipe that
//       starts its own broker, e.g. mosquitto -c).
//   needs=a,b     programs the block needs (mosquitto, openssl): skipped when missing,
//       unless CI=true or REQUIRE_MOSQUITTO=1.
//   unordered     the lines may come in another order (two legs side by side).
//   config=LINE   (with broker=mosquitto) a config line, URI-encoded: config=max_qos%201.
import { readFileSync, writeFileSync } from 'node:fs';

export interface Step {
  /** The `$ ` line as written, comment and `&` included. */
  raw: string;
  command: string;
  background: boolean;
  /** Pasted output, `...` included, `(exit N)` taken out. */
  expected: string[];
  exit: number;
  /** Whether the doc wrote `(exit N)`. */
  exitShown: boolean;
}

export interface Block {
  file: string;
  /** 1-based line of the fence. */
  line: number;
  /** How many lines the block holds between its fences. */
  size: number;
  options: Map<string, string>;
  steps: Step[];
}

export interface Unmarked {
  file: string;
  line: number;
}

const RUNNABLE = /^<!--\s*runnable(?::\s*(.*?))?\s*-->\s*$/;
const NOT_RUNNABLE = /^<!--\s*not runnable:\s*\S.*-->\s*$/;

/** Runnable blocks of one Markdown file, and blocks with `$ ` commands that carry no marker. */
export function readBlocks(file: string): { blocks: Block[]; unmarked: Unmarked[] } {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: Block[] = [];
  const unmarked: Unmarked[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```/.test(lines[i]!)) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const marker = lines[start - 1] ?? '';
    const runnable = RUNNABLE.exec(marker);
    if (runnable) blocks.push({ file, line: start + 1, size: body.length, options: parseOptions(runnable[1] ?? ''), steps: parseSteps(body) });
    else if (!NOT_RUNNABLE.test(marker) && body.some((l) => l.startsWith('$ '))) unmarked.push({ file, line: start + 1 });
  }
  return { blocks, unmarked };
}

function parseOptions(text: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const [key, value = ''] = word.split('=', 2) as [string, string?];
    options.set(key, decodeURIComponent(value));
  }
  return options;
}

function parseSteps(body: string[]): Step[] {
  const steps: Step[] = [];
  for (const line of body) {
    if (line.startsWith('$ ')) {
      const command = stripComment(line.slice(2)).trim();
      const background = /\s&$/.test(command);
      steps.push({ raw: line, command: background ? command.slice(0, -1).trim() : command, background, expected: [], exit: 0, exitShown: false });
      continue;
    }
    const step = steps.at(-1);
    if (!step) throw new Error(`output before any $ command: ${line}`);
    const exit = /^\(exit (\d+)\)$/.exec(line.trim());
    if (exit) [step.exit, step.exitShown] = [Number(exit[1]), true];
    else step.expected.push(line);
  }
  return steps;
}

/** Drops a trailing `# comment` (a `#` after a space, outside quotes). */
export function stripComment(command: string): string {
  let quote: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && /\s/.test(command[i - 1] ?? ' ')) return command.slice(0, i);
  }
  return command;
}

/** The parts of a pipeline (`a | b`), split outside quotes; one part when there is no pipe. */
export function pipeline(command: string): string[] {
  const parts: string[] = [];
  let [quote, start] = [null as string | null, 0];
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '|' && command[i + 1] !== '|' && command[i - 1] !== '|') parts.push(command.slice(start, i).trim()), (start = i + 1);
  }
  return [...parts, command.slice(start).trim()];
}

/** One part of a pipeline with a trailing `2>/dev/null` taken off, and whether it was there. */
export function quietStderr(part: string): { part: string; quiet: boolean } {
  const quiet = /\s2>\/dev\/null$/.test(part);
  return { part: quiet ? part.replace(/\s2>\/dev\/null$/, '') : part, quiet };
}

/** Whether a command needs a shell: redirections, several commands, a background job of its own. */
export function needsShell(command: string): boolean {
  let quote: string | null = null;
  for (const c of command) {
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if ('|;<>&'.includes(c)) return true;
  }
  return false;
}

/**
 * A line's shape: what stays the same from run to run. Ports, packet ids, the
 * machine's client-id suffix (the lab's run number), times, dates and other decimals, and the width of the
 * lab's arrows (which follows the ids' digits) are taken out; so are runs of spaces.
 */
export function shape(line: string): string {
  return line
    .replace(/\x1b\[[0-9;]*m/g, '')
    .replace(/(127\.0\.0\.1|localhost|\[::1\]):\d+/g, '$1:PORT')
    .replace(/\b(id|messageId)(=|":)\d+/g, '$1$2N')
    .replace(/mqtt-qos-lab-(pub|sub)-[0-9a-z]+/g, 'mqtt-qos-lab-$1-ID')
    // The lab's client ids carry its process id, and a CONNECT's size follows the id's length.
    .replace(/"bytes":\d+(,"clientId":"qos-lab-)/g, '"bytes":N$1')
    .replace(/\bqos-lab-\d+-p/g, 'qos-lab-N-p')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'TIME')
    .replace(/\d+\.\d+/g, '#')
    .replace(/-{3,}/g, '--')
    .replace(/~{3,}/g, '~~')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A run's lines that match a paste: for each pasted line, the index of its twin among the run's non-blank lines. */
interface Match {
  problems: string[];
  /** Per pasted line (by index); absent for `...`, blank lines, and lines with no twin. */
  twins: Map<number, number>;
}

function match(expected: string[], actual: string[], unordered: boolean): Match {
  const gaps = expected.some((l) => l.trim() === '...');
  const want = expected.map((l, i) => ({ i, shape: shape(l), skip: l.trim() === '...' || l.trim() === '' })).filter((w) => !w.skip);
  const got = actual.filter((l) => l.trim() !== '').map(shape);
  const problems: string[] = [];
  const twins = new Map<number, number>();
  if (unordered) {
    const taken = new Set<number>();
    for (const w of want) {
      const at = got.findIndex((g, j) => g === w.shape && !taken.has(j));
      if (at < 0) problems.push(`missing: ${w.shape}`);
      else taken.add(at), twins.set(w.i, at);
    }
    if (!gaps) for (const [j, l] of got.entries()) if (!taken.has(j)) problems.push(`not in the doc: ${l}`);
    return { problems, twins };
  }
  let at = 0;
  for (const w of want) {
    const found = got.indexOf(w.shape, at);
    if (found < 0 || (!gaps && found !== at)) {
      problems.push(`expected (in order): ${w.shape}\n  at run line ${at + 1}: ${got[at] ?? '(end of output)'}`);
      return { problems, twins };
    }
    twins.set(w.i, found);
    at = found + 1;
  }
  if (!gaps && at < got.length) problems.push(`not in the doc: ${got.slice(at).join('\n  ')}`);
  return { problems, twins };
}

/** Differences between the pasted output and a run's, or [] when the run has the pasted shape. */
export function compare(expected: string[], actual: string[], unordered: boolean): string[] {
  return match(expected, actual, unordered).problems;
}

/**
 * A block's text with each step's pasted output replaced by what a run printed
 * (DOCS_REPASTE=1). Where the paste leaves lines out (`...`), each line it shows
 * becomes its twin from the run, and the `...` stay.
 */
export function repasted(block: Block, runs: ({ code: number; output: string } | undefined)[], unordered: boolean): string[] {
  return block.steps.flatMap((step, i) => {
    const ran = runs[i];
    const exitLine = (code: number) => (!step.background && (step.exitShown || code !== 0) ? [`(exit ${code})`] : []);
    if (!ran) return [step.raw, ...step.expected, ...(step.exitShown ? [`(exit ${step.exit})`] : [])];
    if (step.expected.some((l) => l.trim() === '...')) {
      const lines = ran.output.split('\n').filter((l) => l.trim() !== '');
      const { twins } = match(step.expected, ran.output.split('\n'), unordered);
      return [step.raw, ...step.expected.map((l, j) => (twins.has(j) ? lines[twins.get(j)!]! : l)), ...exitLine(ran.code)];
    }
    const lines = ran.output.replace(/\n+$/, '').split('\n');
    return [step.raw, ...(ran.output === '' ? [] : lines), ...exitLine(ran.code)];
  });
}

/** Writes blocks' new texts into their files, bottom first so earlier line numbers stay right. */
export function writeRepastes(changes: { block: Block; text: string[] }[]): void {
  for (const file of new Set(changes.map((c) => c.block.file))) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (const { block, text } of changes.filter((c) => c.block.file === file).sort((a, b) => b.block.line - a.block.line)) lines.splice(block.line, block.size, ...text);
    writeFileSync(file, lines.join('\n'));
  }
}
