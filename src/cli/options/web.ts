// npm run web (and npm start -- --web): where the page listens, and the lab's
// own flags, which the page's controls start from. Each run the page asks for
// is read by the lab's parser (parseLab), so the page can ask for nothing the
// terminal lab would refuse, and is told the same words when it does.
import type { PreparedRun, RunRequest } from '../../web/server';
import { UsageError } from '../errors';
import { listenHost, listenPort } from './broker';
import { isLoopbackHost, maskUserinfo } from './broker-url';
import { parseLab } from './lab';
import { defaulted, parseRaw, printable, withExamples, type Example, type Parsed } from './parse';

export const WEB_COMMAND = 'npm run web --';

export interface WebCliOptions {
  host: string;
  port: number;
  /** --host is not loopback (--allow-remote). */
  remote: boolean;
  defaults: RunRequest;
  prepare(request: RunRequest): PreparedRun;
}

export const WEB_EXAMPLES: readonly Example[] = [
  ['$0', 'the page on http://127.0.0.1:8080'],
  ['$0 --port 0 --pub 2 --sub 1', 'a free port (printed); the page starts on the pair QoS 2 → 1'],
  ['$0 --engine mosquitto --fault puback', 'the pairs through mosquitto, the page starts with a cut before PUBACK'],
];

/** The flags of the page's own, read here; every other word goes to the lab's parser. */
const WEB_FLAGS = { port: 'value', host: 'value', 'allow-remote': 'switch', web: 'switch', help: 'switch', h: 'switch' } as const;
/** The lab flags the page's controls set on each run. */
const PAGE_FLAGS = { pub: 'value', sub: 'value', session: 'value', fault: 'value', broker: 'value', b: 'value' } as const;
/** Files the terminal lab writes; the page offers them as downloads instead. */
const FILE_FLAGS = ['trace', 'json', 'mermaid'];

export function parseWeb(argv: string[]): Parsed<WebCliOptions> {
  const { taken: webWords, rest } = takeFlags(argv, WEB_FLAGS);
  const raw = parseRaw(
    WEB_COMMAND,
    'The QoS lab in a browser: serves a page on loopback that runs the lab\'s pairs and draws every packet of both legs as it was on the wire, with the matrix, a fault, and the trace and Mermaid downloads. Every flag of `npm start -- --help` also works (the page\'s controls start from --pub, --sub, --session, --fault and --broker).',
    webWords,
    (y) =>
      withExamples(y
        .option('port', { type: 'string', default: '8080', describe: 'port the page is served on (0 picks a free one)' })
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to serve the page on (loopback by default)' })
        .option('allow-remote', { type: 'boolean', default: false, describe: 'allow a --host that is not loopback: other machines could then run the lab from the page' })
        .option('web', { type: 'boolean', default: false, describe: 'what `npm start -- --web` passes; the same as npm run web' }), WEB_EXAMPLES),
  );
  if (!raw) return { kind: 'shown' };
  const port = listenPort(raw);
  const host = listenHost(defaulted(raw, 'host'), Boolean(raw['allow-remote']));
  for (const flag of FILE_FLAGS) {
    if (rest.some((w) => w === `--${flag}` || w.startsWith(`--${flag}=`))) throw new UsageError(`--${flag} is for the terminal lab: the page has a download button for the trace and the Mermaid text`);
  }
  const { taken: pageWords, rest: base } = takeFlags(rest, PAGE_FLAGS);
  // Read by the lab's parser now: a bad lab flag is one error line before anything listens.
  const first = parseLab([...base, ...pageWords]);
  if (first.kind === 'shown') return first;
  const given = valuesOf(pageWords);
  const broker = given.broker ?? given.b ?? '';
  const defaults: RunRequest = {
    pub: given.pub ?? '0,1,2',
    sub: given.sub ?? '0,1,2',
    session: given.session === 'persistent' ? 'persistent' : 'clean',
    fault: given.fault ?? '',
    broker,
  };
  return {
    kind: 'run',
    options: {
      host,
      port,
      remote: !isLoopbackHost(host),
      defaults,
      prepare: (request) => {
        const url = request.broker;
        const words = [
          ...base,
          ...(request.pub === '0,1,2' ? [] : ['--pub', request.pub]),
          ...(request.sub === '0,1,2' ? [] : ['--sub', request.sub]),
          ...(request.session === 'clean' ? [] : ['--session', request.session]),
          ...(request.fault.trim() === '' ? [] : ['--fault', request.fault.trim()]),
          ...(url.trim() === '' ? [] : ['--broker', url.trim()]),
        ];
        const parsed = parseLab(words);
        if (parsed.kind === 'shown') throw new UsageError('--help and --version are for the command line');
        return { lab: parsed.options.lab, command: words.length ? ['npm start --', ...hidePassword(words).map(shellWord)].join(' ') : 'npm start' };
      },
    },
  };
}

type FlagKinds = Record<string, 'value' | 'switch'>;

/** Splits argv into the words of the given flags (`--port 80`, `--port=80`, `-h`) and the rest, each in its order. */
function takeFlags(argv: readonly string[], flags: FlagKinds): { taken: string[]; rest: string[] } {
  const taken: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const name = /^--?([^=]+)/.exec(word)?.[1]?.replace(/^no-/, '');
    const kind = name === undefined || (name.length === 1) !== /^-[^-]/.test(word) ? undefined : flags[name];
    if (word === '--' || kind === undefined) {
      rest.push(word);
      continue;
    }
    taken.push(word);
    if (kind === 'value' && !word.includes('=') && argv[i + 1] !== undefined) taken.push(argv[++i]!);
  }
  return { taken, rest };
}

/** `--pub 1 --fault=puback` → { pub: '1', fault: 'puback' }: the page's first values (parseLab has checked them). */
function valuesOf(words: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) {
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(words[i]!);
    if (!m) continue;
    values[m[1]!] = m[2] ?? words[++i] ?? '';
  }
  return values;
}

/** The command the page shows never carries a password: --password's value (and any URL userinfo) as ***. */
function hidePassword(words: readonly string[]): string[] {
  return words.map((word, i) => {
    if (/^(--password|-P)=/.test(word)) return `${word.slice(0, word.indexOf('=') + 1)}***`;
    if (i > 0 && (words[i - 1] === '--password' || words[i - 1] === '-P')) return '***';
    return maskUserinfo(word);
  });
}

/** A word as a shell would need it typed. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${printable(word).replace(/'/g, "'\\''")}'`;
}
