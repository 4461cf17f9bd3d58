// The lab in a browser, in a real one: Debian's chromium driven by
// playwright-core by path. Each run's drawn arrows must be its trace records,
// one for one: the same records in the same order, each arrow's label, id and
// DUP those of its records; a fault run's cut, lost packet and DUP=1 resend drawn.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { EXIT } from '../../src/cli/errors';
import { parseWeb } from '../../src/cli/options/web';
import { openWeb } from '../../src/cli/web';
import type { TraceRecord } from '../../src/mqtt/trace';
import type { WebServer } from '../../src/web/server';
import { launchChromium, needsChromium } from '../support/browser';
import { testBroker } from '../support/broker';
import { runCli } from '../support/cli';

interface Drawn {
  type: string;
  id: string;
  dup: string;
  lost: string;
  from: string;
  label: string;
  records: TraceRecord[];
}

type Record_ = TraceRecord | { type: 'cut'; seenBy: 'proxy'; reason: string };

async function server(t: TestContext, argv: string[] = []): Promise<WebServer> {
  const parsed = parseWeb(['--port', '0', ...argv]);
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') throw new Error('unreachable');
  const web = await openWeb(parsed.options);
  t.after(() => web.close());
  return web;
}

/** A loopback port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((listening) => probe.listen(0, '127.0.0.1', listening));
  const { port } = probe.address() as AddressInfo;
  await new Promise((closed) => probe.close(closed));
  return port;
}

/** Runs one request from the page's controls and waits until that run is drawn. */
async function runFromPage(page: Page, run: number, choice: { pub: string; sub: string; fault?: string }): Promise<void> {
  await page.selectOption('#pub', choice.pub);
  await page.selectOption('#sub', choice.sub);
  await page.fill('#fault', choice.fault ?? '');
  await page.click('#go');
  await page.waitForFunction((n) => document.body.dataset.state === 'done' && document.getElementById('status')!.textContent!.startsWith(`Run ${n}:`), run, { timeout: 20_000 });
}

async function drawnArrows(page: Page): Promise<Drawn[]> {
  return page.$$eval('.arrow', (buttons) =>
    buttons.map((b) => {
      const d = (b as HTMLElement).dataset;
      return { type: d.type!, id: d.id!, dup: d.dup!, lost: d.lost!, from: d.from!, label: b.querySelector('.label')!.textContent!, records: JSON.parse(d.records!) };
    }),
  );
}

async function traceOf(web: WebServer): Promise<Record_[]> {
  const text = await (await fetch(`${web.url}api/trace.jsonl`)).text();
  return text.trim().split('\n').map((line) => JSON.parse(line) as Record_);
}

/** The arrow lines of the run's Mermaid download (`  P->>B: ...`, `  B-xP: ...` for a lost one). */
async function mermaidArrows(web: WebServer): Promise<number> {
  const text = await (await fetch(`${web.url}api/mermaid.md`)).text();
  return text.split('\n').filter((l) => /^ {2}[PBS](->>|-x)[PBS]: /.test(l)).length;
}

/** Every drawn arrow is its records: together they are the trace (bar the proxy's own records), in order; each label says its records' type, id and DUP. */
function assertArrowsAreTheTrace(drawn: Drawn[], trace: Record_[]): void {
  assert.deepEqual(drawn.flatMap((a) => a.records), trace.filter((r) => r.seenBy !== 'proxy'));
  for (const a of drawn) {
    assert.ok(a.records.length === 1 || a.records.length === 2, `${a.label}: one record per end`);
    if (a.records.length === 2) assert.deepEqual(a.records.map((r) => r.direction), ['send', 'receive'], a.label);
    for (const r of a.records) {
      assert.equal(r.type, a.type, a.label);
      assert.equal(r.messageId === undefined ? '' : String(r.messageId), a.id, a.label);
      assert.equal(r.dup ? '1' : '0', a.dup, a.label);
    }
    assert.ok(a.label.startsWith(a.type.toUpperCase()), a.label);
    if (a.id && a.type !== 'subscribe' && a.type !== 'suback') assert.match(a.label, new RegExp(` id=${a.id}\\b`));
    assert.equal(/ dup\b/.test(a.label), a.dup === '1', a.label);
  }
}

/** On failure, the page as it was: a screenshot in a temp dir, its path printed. */
async function withScreenshot(t: TestContext, page: Page, name: string, check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (error) {
    const path = join(mkdtempSync(join(tmpdir(), 'web-test-')), `${name}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => undefined);
    t.diagnostic(`screenshot of the failing page: ${path}`);
    throw error;
  }
}

test('web: opening the page draws the nine pairs; QoS 0, 1 and 2 pairs and a puback fault, in chromium, arrow for arrow from their trace records', needsChromium, async (t) => {
  const web = await server(t);
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(web.url);
  await page.selectOption('#speed', '0');
  let run = 1;
  await withScreenshot(t, page, 'nine', async () => {
    // No click: the first page opened runs the lab with the controls' values, all nine pairs.
    await page.waitForFunction(() => document.body.dataset.state === 'done' && document.getElementById('status')!.textContent!.startsWith('Run 1:'), undefined, { timeout: 30_000 });
    assert.equal(await page.locator('.pair').count(), 9);
    const trace = await traceOf(web);
    assertArrowsAreTheTrace(await drawnArrows(page), trace);
    assert.equal(/\((\d+) packet records so far\)/.exec((await page.locator('#live').textContent()) ?? '')?.[1], String(trace.length), 'the ticker saw the first run from its first packet');
    const cells = await page.$$eval('#matrix td', (tds) => tds.map((td) => [(td as HTMLElement).dataset.delivered, (td as HTMLElement).dataset.expected]));
    assert.deepEqual(cells, [0, 1, 2].flatMap((p) => [0, 1, 2].map((s) => [String(Math.min(p, s)), String(Math.min(p, s))])));
  });
  const flows: Record<string, string[]> = { '0': ['publish'], '1': ['publish', 'puback'], '2': ['publish', 'pubrec', 'pubrel', 'pubcomp'] };
  for (const qos of ['0', '1', '2']) {
    await withScreenshot(t, page, `qos${qos}`, async () => {
      await runFromPage(page, ++run, { pub: qos, sub: qos });
      const drawn = await drawnArrows(page);
      const trace = await traceOf(web);
      assertArrowsAreTheTrace(drawn, trace);
      assert.equal(await mermaidArrows(web), drawn.length, 'as many arrows as the Mermaid export of the run');
      // The live ticker saw each of those records as it was logged.
      assert.equal(/\((\d+) packet records so far\)/.exec((await page.locator('#live').textContent()) ?? '')?.[1], String(trace.length));
      // Each leg carries the level's flow; at QoS 1 and 2 every packet of a leg's flow has that leg's id.
      for (const from of ['publisher', 'subscriber']) {
        const leg = drawn.filter((a) => a.records.some((r) => r.leg === from) && flows[qos]!.includes(a.type));
        assert.deepEqual(leg.map((a) => a.type), flows[qos], `${from}'s leg at QoS ${qos}`);
        assert.equal(new Set(leg.map((a) => a.id)).size, 1, `one id per leg: ${leg.map((a) => a.label).join(', ')}`);
      }
      const cell = page.locator(`#matrix td[data-pub="${qos}"][data-sub="${qos}"]`);
      assert.equal(await cell.getAttribute('data-delivered'), qos);
      assert.equal(await cell.getAttribute('data-expected'), qos);
      assert.match((await page.locator('.note-text.at-subscriber').textContent()) ?? '', new RegExp(`hands the message to the application \\(QoS ${qos}\\)`));
    });
  }
  await withScreenshot(t, page, 'fault', async () => {
    await runFromPage(page, ++run, { pub: '1', sub: '1', fault: 'puback' });
    const drawn = await drawnArrows(page);
    const trace = await traceOf(web);
    assertArrowsAreTheTrace(drawn, trace);
    const cuts = trace.filter((r) => r.type === 'cut');
    assert.equal(cuts.length, 1);
    assert.equal(await page.locator('.cut-line').count(), cuts.length);
    assert.match((await page.locator('.cut-line').textContent()) ?? '', /before PUBACK/);
    const dropped = trace.filter((r) => 'dropped' in r && r.dropped);
    assert.deepEqual(drawn.filter((a) => a.lost === '1').map((a) => a.type), dropped.map((r) => r.type));
    assert.deepEqual(dropped.map((r) => r.type), ['puback']);
    // The lost PUBACK (broker to publisher: leftward) still shows where it was going, not only by colour.
    assert.equal(await page.locator('.arrow[data-lost="1"] .head').textContent(), '✕◀');
    assert.match((await page.locator('.arrow[data-lost="1"]').getAttribute('aria-label')) ?? '', /^Broker to Publisher: PUBACK .*lost in the cut/);
    // The reconnect (a second CONNECT on the publisher's leg) and the resend with DUP=1, same id.
    const publisher = drawn.filter((a) => a.records.some((r) => r.leg === 'publisher'));
    assert.equal(publisher.filter((a) => a.type === 'connect').length, 2);
    const publishes = publisher.filter((a) => a.type === 'publish');
    assert.deepEqual(publishes.map((a) => a.dup), ['0', '1']);
    assert.equal(publishes[0]!.id, publishes[1]!.id);
    assert.match(publishes[1]!.label, /^PUBLISH q1 id=\d+ dup$/);
    // Keyboard: the resend's arrow takes focus and Enter shows its fields and its records.
    await page.locator('.arrow[data-dup="1"][data-from="publisher"]').focus();
    await page.keyboard.press('Enter');
    assert.match((await page.locator('#details').textContent()) ?? '', /dup=1/);
    assert.deepEqual((await page.locator('#details pre.records').textContent())!.split('\n').map((l) => JSON.parse(l)), publishes[1]!.records);
    // Down steps to the next arrow and shows it.
    await page.keyboard.press('ArrowDown');
    const next = drawn[drawn.findIndex((a) => a === publishes[1]) + 1]!;
    assert.equal(await page.locator('#details .chosen-label').textContent(), next.label);
    assert.equal(await mermaidArrows(web), drawn.length, 'as many arrows as the Mermaid export of the run');
    // Replay, paced: the same arrows again, one at a time, no new packets.
    await page.selectOption('#speed', '80');
    await page.click('#replay');
    assert.ok((await page.locator('.arrow').count()) < drawn.length, 'a paced replay draws arrow by arrow');
    await page.waitForFunction(() => document.body.dataset.state === 'done', undefined, { timeout: 20_000 });
    assert.deepEqual(await drawnArrows(page), drawn);
    await page.selectOption('#speed', '0');
  });
  await withScreenshot(t, page, 'broker-url', async () => {
    // Another broker by URL: no tap there, so no broker records; the lane says it is derived.
    const other = await testBroker(t);
    await page.fill('#broker', other.url);
    await runFromPage(page, ++run, { pub: '2', sub: '1' });
    const drawn = await drawnArrows(page);
    assertArrowsAreTheTrace(drawn, await traceOf(web));
    assert.ok(drawn.every((a) => a.records.every((r) => r.seenBy !== 'broker')));
    assert.match((await page.locator('.lane-note').textContent()) ?? '', /derived from the two client legs/);
    assert.match((await page.locator('#command').textContent()) ?? '', new RegExp(`--pub 2 --sub 1 --broker ${other.url}`));
    assert.equal(await page.locator('#matrix td[data-pub="2"][data-sub="1"]').getAttribute('data-delivered'), '1');
  });
});

test('web: the controls start from the lab flags given to npm run web, and the page\'s first run is that command', needsChromium, async (t) => {
  const web = await server(t, ['--pub', '1,2', '--sub', '2', '--fault', 'pubrec', '--session', 'persistent']);
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(web.url);
  await withScreenshot(t, page, 'defaults', async () => {
    await page.waitForFunction(() => (document.getElementById('pub') as HTMLSelectElement).value === '1,2');
    assert.deepEqual(await page.$eval('#run', () => ['pub', 'sub', 'session', 'fault', 'broker'].map((id) => (document.getElementById(id) as HTMLInputElement).value)), ['1,2', '2', 'persistent', 'pubrec', '']);
    await page.selectOption('#speed', '0');
    await page.waitForFunction(() => document.body.dataset.state === 'done', undefined, { timeout: 20_000 });
    assert.equal(await page.locator('#command').textContent(), 'same as: npm start -- --pub 1,2 --sub 2 --session persistent --fault pubrec');
    assert.equal(await page.locator('.pair').count(), 2);
    // pub 1 carries no PUBREC: the named cut happens on the QoS 2 pair only, as in the terminal lab.
    assert.equal(await page.locator('.pair[data-pub="2"] .cut-line').count(), 1);
    assert.equal(await page.locator('.pair[data-pub="1"] .cut-line').count(), 0);
    assert.match((await page.locator('.pair[data-pub="1"] .arrow[data-type="connect"]').first().getAttribute('data-records')) ?? '', /"type":"connect"/);
    // The cells say what the terminal's matrix of the same run says: `pub 1   1 [1] ...` is delivered 1, MIN 1.
    const terminal = (await page.locator('#terminal-matrix').textContent()) ?? '';
    for (const pub of ['1', '2']) {
      const row = new RegExp(`^pub ${pub} +(\\S+) \\[(\\d)\\]`, 'm').exec(terminal);
      const cell = page.locator(`#matrix td[data-pub="${pub}"][data-sub="2"]`);
      assert.deepEqual([await cell.getAttribute('data-delivered'), await cell.getAttribute('data-expected')], [row?.[1]?.replace('-', '–'), row?.[2]], terminal);
    }
  });
});

test('web: a run the lab would refuse is refused with its words; a foreign Host or Origin header gets nothing', async (t) => {
  const web = await server(t);
  const post = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetch(`${web.url}api/run`, { method: 'POST', headers, body: JSON.stringify(body) });
  const refused = await post({ pub: '1', sub: '1', session: 'clean', fault: 'pubrec', broker: '' });
  assert.equal(refused.status, 400);
  assert.equal(
    ((await refused.json()) as { error: string }).error,
    "Error: --fault pubrec: at the QoS given no flow carries a PUBREC (only PUBACK), so the cut would never happen (see 'npm start -- --help')",
  );
  assert.equal((await post({ pub: '1', sub: '1', session: 'forever', fault: '', broker: '' })).status, 400);
  // A broker that cannot be reached ends the run with the lab's one error line, sent to every page.
  const events = await fetch(`${web.url}api/events`);
  const reader = events.body!.getReader();
  const closed = await closedPort();
  assert.equal((await post({ pub: '1', sub: '1', session: 'clean', fault: '', broker: `127.0.0.1:${closed}` })).status, 202);
  let stream = '';
  while (!/event: failed\ndata: .*\n/.test(stream)) {
    const { value, done } = await reader.read();
    if (done) break;
    stream += Buffer.from(value).toString();
  }
  await reader.cancel();
  const failed = JSON.parse(/event: failed\ndata: (.*)\n/.exec(stream)![1]!) as { error: string };
  assert.match(failed.error, new RegExp(`^Error: cannot reach the broker at mqtt://127\\.0\\.0\\.1:${closed}: connection refused`));
  assert.equal((await post({ pub: '1', sub: '1', session: 'clean', fault: '', broker: '' }, { 'content-type': 'text/plain' })).status, 415);
  const { request } = await import('node:http');
  const status = (path: string, headers: Record<string, string>, method = 'GET') =>
    new Promise<number>((done, failed) => {
      request(`${web.url}${path}`, { method, headers }, (res) => {
        res.resume();
        done(res.statusCode!);
      })
        .on('error', failed)
        .end(method === 'POST' ? JSON.stringify({ pub: '1', sub: '1', session: 'clean', fault: '', broker: '' }) : undefined);
    });
  const own = new URL(web.url).host;
  assert.equal(await status('api/config', { host: 'attacker.example:80' }), 403);
  // DNS rebinding with a name that starts like a loopback address.
  assert.equal(await status('api/config', { host: `127.0.0.1.attacker.example:${new URL(web.url).port}` }), 403);
  // Another origin's page cannot start a run or read the stream, whatever Host it reaches us by.
  assert.equal(await status('api/run', { host: own, origin: 'http://attacker.example', 'content-type': 'application/json' }, 'POST'), 403);
  assert.equal(await status('api/events', { host: own, origin: 'http://attacker.example' }), 403);
  // The page itself (its own origin) is served.
  assert.equal(await status('api/config', { host: own, origin: `http://${own}` }), 200);
});

test('web: its flags are checked before anything listens', () => {
  assert.throws(() => parseWeb(['--host', '0.0.0.0']), /--host '0.0.0.0' listens on every interface: .*--allow-remote/);
  assert.throws(() => parseWeb(['--trace', 'x.jsonl']), /--trace is for the terminal lab: the page has a download button/);
  assert.throws(() => parseWeb(['--fault', 'sometimes']), /^UsageError: --fault /);
  assert.throws(() => parseWeb(['--port', '70000']), /--port must be 0 to 65535/);
  // The page's controls start from the lab flags given; each run is read by the lab's parser again.
  const parsed = parseWeb(['--port', '0', '--pub', '2', '-b', '127.0.0.1:1', '--session', 'persistent']);
  assert.equal(parsed.kind, 'run');
  if (parsed.kind === 'run') {
    assert.deepEqual(parsed.options.defaults, { pub: '2', sub: '0,1,2', session: 'persistent', fault: '', broker: '127.0.0.1:1' });
    const run = parsed.options.prepare({ ...parsed.options.defaults, fault: 'pubrec' });
    assert.deepEqual([run.lab.url, run.lab.pubs, run.lab.clean, run.lab.fault], ['mqtt://127.0.0.1:1', [2], false, { kind: 'before', packet: 'pubrec' }]);
    assert.equal(run.command, 'npm start -- --pub 2 --session persistent --fault pubrec --broker 127.0.0.1:1');
  }
  // Credentials hold for every run; the command the page shows never carries the password.
  const login = parseWeb(['--port', '0', '-u', 'ann', '--password', 'hunter2']);
  if (login.kind === 'run') {
    const run = login.options.prepare(login.options.defaults);
    assert.equal(run.lab.connection?.password, 'hunter2');
    assert.equal(run.command, "npm start -- -u ann --password '***'");
  }
});

test('web: npm start -- --web serves the page and Ctrl-C stops it, a run in flight too (exit 130, as npm run web\'s shell sees and as the broker)', async (t) => {
  const lab = runCli('lab', ['--web', '--port', '0'], { t });
  const out = await lab.waitFor(/open (http:\/\/\S+);/);
  const url = /open (http:\/\/\S+);/.exec(out)![1]!;
  assert.match(await (await fetch(url)).text(), /<title>MQTT QoS lab<\/title>/);
  const started = await fetch(`${url}api/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pub: '0,1,2', sub: '0,1,2', session: 'clean', fault: '', broker: '' }) });
  assert.equal(started.status, 202);
  lab.child.kill('SIGINT');
  const done = await lab.done;
  assert.equal(done.code, EXIT.interrupted, done.stderr);
  assert.match(done.stdout, /web lab stopped/);
  assert.equal(done.stderr, '');
});

test('web: SIGTERM stops it too, exit 143', async (t) => {
  const web = runCli('lab', ['--web', '--port', '0'], { t });
  await web.waitFor(/open (http:\/\/\S+);/);
  web.child.kill('SIGTERM');
  const done = await web.done;
  assert.equal(done.code, EXIT.terminated, done.stderr);
  assert.match(done.stdout, /web lab stopped\n$/);
});
