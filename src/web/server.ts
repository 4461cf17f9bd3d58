// The lab in a browser: a small node:http server on loopback that serves the
// page (plain files under web/) and runs the lab's own pairs when the page
// asks, streaming each pair to every open page as server-sent events (and
// each packet as it is logged, for the page's live ticker). Every
// arrow, id, record and matrix cell is made by the lab's code (src/web/view.ts);
// the page only draws them.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { isIP, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { ProtocolVersion } from '../mqtt/connection';
import { traceWriter } from '../mqtt/trace';
import { within } from '../mqtt/wait';
import { arrowLabel } from '../lab/label';
import { runPairs, type LabOptions, type LabPair, type LabSession } from '../lab/pairs';
import { labMatrix, labMermaid, labVerdict } from '../lab/run-lab';
import { pairRecords } from '../lab/trace';
import { pairView } from './view';

/** What the page's controls ask for; every field as the lab's flag would spell it. */
export interface RunRequest {
  /** --pub: e.g. `0,1,2` or `1`. */
  pub: string;
  /** --sub. */
  sub: string;
  session: 'clean' | 'persistent';
  /** --fault, or '' for none. */
  fault: string;
  /** --broker URL, or '' for the broker the lab starts. */
  broker: string;
}

/** A request made into the lab's options by the command's own parser, and the terminal command that runs the same. */
export interface PreparedRun {
  lab: LabOptions;
  command: string;
}

export interface WebOptions {
  host: string;
  port: number;
  /** The controls' first values (from the command line). */
  defaults: RunRequest;
  /** The lab's flag checks: throws an Error whose message names the flag. */
  prepare(request: RunRequest): PreparedRun;
  /** One line for an error that ended a run, as the terminal lab would print it. */
  describe(error: unknown): string;
}

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

/** Where the page's files are: web/ at the package root, from src/web and from dist/web alike. */
const ASSETS = resolve(__dirname, '../../web');
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const MAX_BODY = 16 * 1024;
/** After close(), how long a pair in flight may take to end (its own waits are bounded too). */
const STOP_MS = 2000;

interface Run {
  id: number;
  protocol: ProtocolVersion;
  session?: LabSession;
  pairs: LabPair[];
  /** Every event sent for this run, so a page opened (or reloaded) mid-run catches up. */
  events: string[];
  done: Promise<void>;
  stop: AbortController;
  running: boolean;
}

export async function startWeb(options: WebOptions): Promise<WebServer> {
  const pages = new Set<ServerResponse>();
  let run: Run | undefined;
  let runs = 0;

  /** `keep` false: not replayed to a page opened later (the live ticker's packets: the pair event carries them all). */
  const send = (name: string, data: unknown, keep = true) => {
    const text = `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    if (keep) run?.events.push(text);
    for (const page of pages) page.write(text);
  };

  const begin = (prepared: PreparedRun): Run => {
    const { lab, command } = prepared;
    const version = lab.protocol === 5 ? 'MQTT 5' : 'MQTT 3.1.1';
    const stop = new AbortController();
    const current: Run = { id: ++runs, protocol: lab.protocol, pairs: [], events: [], done: Promise.resolve(), stop, running: true };
    run = current;
    current.done = runPairs(
      lab,
      (session) => {
        current.session = session;
        send('run', { run: current.id, broker: session.brokerName, version, command });
      },
      (pair) => {
        current.pairs.push(pair);
        send('pair', { run: current.id, index: current.pairs.length - 1, ...pairView(pair, current.session!, lab.protocol) });
      },
      stop.signal,
      (event) => send('packet', { run: current.id, lane: event.lane, direction: event.direction, label: arrowLabel(event.packet) }, false),
    ).then(
      (pairs) => {
        const verdict = stop.signal.aborted ? null : labVerdict(pairs);
        // The terminal's matrix text too, footnotes and all: the page's cells must never say otherwise.
        const matrix = stop.signal.aborted ? [] : labMatrix(pairs, current.session, version);
        send('done', { run: current.id, pairs: pairs.length, verdict: verdict && options.describe(verdict), records: traceOf(current).counts, matrix });
      },
      (error: unknown) => send('failed', { run: current.id, error: options.describe(error) }),
    ).finally(() => {
      current.running = false;
    });
    return current;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => reply(res, 500, { error: error instanceof Error ? error.message : String(error) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req, options.host)) return reply(res, 403, { error: 'this page answers only to the address it listens on' });
    if (!originAllowed(req)) return reply(res, 403, { error: 'this page answers only to itself: another origin cannot use it' });
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const asset = FILES[path];
    if (req.method === 'GET' && asset) {
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' });
      res.end(await readFile(join(ASSETS, asset.file)));
      return;
    }
    // `runs` 0: the page runs the lab once by itself, so opening it shows the pairs being drawn.
    if (req.method === 'GET' && path === '/api/config') return reply(res, 200, { defaults: options.defaults, runs });
    if (req.method === 'GET' && path === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': the lab\n\n');
      for (const text of run?.events ?? []) res.write(text);
      pages.add(res);
      res.on('close', () => pages.delete(res));
      return;
    }
    if (req.method === 'GET' && (path === '/api/trace.jsonl' || path === '/api/mermaid.md')) {
      if (!run?.session) return reply(res, 404, { error: 'no run yet: press Run first' });
      const jsonl = path.endsWith('.jsonl');
      const body = jsonl ? traceOf(run).text : labMermaid(run.pairs, run.session, run.protocol === 5 ? 'MQTT 5' : 'MQTT 3.1.1');
      res.writeHead(200, {
        'content-type': jsonl ? 'application/x-ndjson; charset=utf-8' : 'text/markdown; charset=utf-8',
        'content-disposition': `attachment; filename="qos-lab-run${run.id}.${jsonl ? 'jsonl' : 'md'}"`,
      });
      res.end(body);
      return;
    }
    if (req.method === 'POST' && path === '/api/run') {
      // A JSON body needs a CORS preflight from another origin: a foreign page cannot start runs.
      if (!String(req.headers['content-type']).startsWith('application/json')) return reply(res, 415, { error: 'send the run as application/json' });
      let request: RunRequest;
      try {
        request = runRequest(JSON.parse(await body(req)));
      } catch (error) {
        return reply(res, 400, { error: error instanceof Error ? error.message : String(error) });
      }
      if (run?.running) return reply(res, 409, { error: 'a run is in progress: wait for it to end' });
      let prepared: PreparedRun;
      try {
        prepared = options.prepare(request);
      } catch (error) {
        return reply(res, 400, { error: options.describe(error) });
      }
      const started = begin(prepared);
      return reply(res, 202, { run: started.id, command: prepared.command });
    }
    reply(res, 404, { error: `no such page: ${path}` });
  }

  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(options.port, options.host, () => {
      server.off('error', failed);
      listening();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = isIP(options.host) === 6 ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}/`,
    close: async () => {
      run?.stop.abort();
      await within(run?.done ?? Promise.resolve(), STOP_MS);
      for (const page of pages) page.end();
      server.closeAllConnections();
      await new Promise<void>((closed) => server.close(() => closed()));
    },
  };
}

/** The run's trace as the terminal lab's --trace writes it: the same records, through the same writer. */
function traceOf(run: Run): { text: string; counts: { packets: number; cuts: number } } {
  let text = '';
  const writer = traceWriter({ write: (chunk) => (text += chunk), close: () => undefined });
  if (run.session) for (const pair of run.pairs) writer.writeAll(pairRecords(pair, run.session.start, run.protocol));
  writer.close();
  return { text, counts: { ...writer.written } };
}

function reply(res: ServerResponse, status: number, data: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(data));
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((done, failed) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_BODY) failed(new Error('the request is too large'));
    });
    req.on('end', () => done(text));
    req.on('error', failed);
  });
}

/** The page's JSON, checked field by field: a missing or mistyped field is named. */
function runRequest(value: unknown): RunRequest {
  const v = (value ?? {}) as Record<string, unknown>;
  const text = (field: keyof RunRequest) => {
    if (typeof v[field] !== 'string') throw new Error(`the run request's '${field}' must be a string`);
    return v[field] as string;
  };
  const session = text('session');
  if (session !== 'clean' && session !== 'persistent') throw new Error(`the run request's 'session' must be clean or persistent, got '${session}'`);
  return { pub: text('pub'), sub: text('sub'), session, fault: text('fault'), broker: text('broker') };
}

/**
 * On loopback, only a loopback Host header: a web page elsewhere that points a
 * name at 127.0.0.1 (DNS rebinding) gets nothing.
 */
function hostAllowed(req: IncomingMessage, listening: string): boolean {
  // An address, not a name that starts like one: `127.0.0.1.attacker.example` can resolve to 127.0.0.1 too.
  const loopback = (name: string) => name === 'localhost' || name === '::1' || name === '[::1]' || (isIP(name) === 4 && name.startsWith('127.'));
  if (!loopback(listening)) return true;
  const host = (req.headers.host ?? '').replace(/:\d+$/, '');
  return loopback(host);
}

/**
 * A browser names the page that made a request in Origin (on every POST, and
 * on any request from another origin): only this page's own origin is served.
 * No Origin (curl, the page's own GETs) is this machine's user.
 */
function originAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://${req.headers.host ?? ''}`;
}
