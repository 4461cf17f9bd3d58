// The page: lays out what the lab's process sends (server-sent events from
// /api/events). Every label, id, record and matrix cell comes from the lab;
// nothing here knows a QoS rule. Text from the wire is set with textContent only.
'use strict';

const $ = (id) => document.getElementById(id);
const LANE = { publisher: 'Publisher', broker: 'Broker', subscriber: 'Subscriber' };
// Grid lines of the three rails (see style.css): Publisher 3, Broker 4, Subscriber 5.
const RAIL = { publisher: 3, broker: 4, subscriber: 5 };

let runId = 0;
let pairs = []; // the current run's pair events, kept for Replay
let queue = Promise.resolve();
let finished = null; // the run's 'done' or 'failed' event, once it came
let drawing = 0; // draws started (a replay or a new run makes older ones stop)

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-') || key.startsWith('aria-') || key === 'role' || key === 'style') node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const speed = () => Number($('speed').value);

function setState(state, text) {
  document.body.dataset.state = state;
  if (text !== undefined) $('status').textContent = text;
}

// ---- the matrix ----
function resetMatrix() {
  const body = $('matrix').tBodies[0];
  body.replaceChildren();
  for (const p of [0, 1, 2]) {
    const row = el('tr', {}, el('th', { scope: 'row', text: `pub ${p}` }));
    for (const s of [0, 1, 2]) row.append(el('td', { class: 'cell empty', 'data-pub': p, 'data-sub': s, text: '·' }));
    body.append(row);
  }
}

function fillCell(cell) {
  const td = document.querySelector(`#matrix td[data-pub="${cell.publishQos}"][data-sub="${cell.subscribeQos}"]`);
  const got = cell.delivered === null ? '–' : String(cell.delivered);
  td.className = `cell ${cell.mismatch ? 'differs' : 'agrees'}`;
  td.dataset.delivered = got;
  td.dataset.expected = String(cell.expected);
  td.replaceChildren(
    el('span', { class: 'got', text: got }),
    el('span', { class: 'min', text: ` MIN ${cell.expected}` }),
    el('span', { class: 'mark', text: cell.mismatch ? ' ≠ differs' : ' = as MIN' }),
    el('span', { class: 'small', text: `${cell.fault.cuts.length ? '~cut ' : ''}packets ${cell.packets.publisher}+${cell.packets.subscriber}${cell.ackMs === null ? '' : ` · ack ${cell.ackMs.toFixed(1)} ms${cell.ackBroke ? '!' : ''}`}` }),
    cell.delivered === null ? null : el('span', { class: 'small', text: `fwd after ${cell.forwardedAfter ?? '?'} · app at ${cell.appGotItAt ?? '?'}` }),
  );
  // The terminal matrix's own cell text, and why a pair stopped short, on hover.
  td.title = [cell.text, cell.problem, ...cell.violations].filter(Boolean).join('\n');
}

// ---- the lanes ----
function rails(row) {
  for (const lane of Object.keys(RAIL)) row.append(el('span', { class: `rail ${lane}`, style: `grid-column: ${RAIL[lane]}` , 'aria-hidden': 'true' }));
}

function arrowRow(step, pair) {
  const right = RAIL[step.to] > RAIL[step.from];
  const row = el('li', { class: 'step' }, el('span', { class: 't', text: step.ms.toFixed(2) }));
  rails(row);
  const text = `${step.label}${step.lost ? ' (lost in the cut)' : ''}${step.rule ? ` (breaks ${step.rule})` : ''}`;
  // A lost packet keeps its arrowhead (where it was going) and adds the ✕: direction is never shown by colour or line alone.
  const head = right ? (step.lost ? '▶✕' : '▶') : step.lost ? '✕◀' : '◀';
  const button = el(
    'button',
    {
      type: 'button',
      class: `arrow ${step.from === 'broker' ? 'down' : 'up'} ${right ? 'rightward' : 'leftward'}${step.lost ? ' lost' : ''}${step.rule ? ' broke' : ''}`,
      style: `grid-column: ${Math.min(RAIL[step.from], RAIL[step.to])} / ${Math.max(RAIL[step.from], RAIL[step.to])}`,
      'aria-label': `${LANE[step.from]} to ${LANE[step.to]}: ${text}`,
      'data-type': step.type,
      'data-id': step.messageId === undefined ? '' : String(step.messageId),
      'data-dup': step.dup ? '1' : '0',
      'data-lost': step.lost ? '1' : '0',
      'data-from': step.from,
      'data-to': step.to,
      'data-records': JSON.stringify(step.records),
    },
    right ? null : el('span', { class: 'head', text: head, 'aria-hidden': 'true' }),
    el('span', { class: 'label', text }),
    right ? el('span', { class: 'head', text: head, 'aria-hidden': 'true' }) : null,
  );
  button.addEventListener('click', () => showDetails(step, pair, button));
  row.append(button);
  return row;
}

function cutRow(step) {
  const row = el('li', { class: 'step cut' }, el('span', { class: 't', text: step.ms.toFixed(2) }));
  rails(row);
  const [a, b] = step.leg === 'publisher' ? [RAIL.publisher, RAIL.broker] : [RAIL.broker, RAIL.subscriber];
  row.append(el('span', { class: 'cut-line', style: `grid-column: ${a} / ${b}`, text: `✂ CUT: ${step.text}` }));
  return row;
}

function noteRow(step) {
  const row = el('li', { class: 'step note' }, el('span', { class: 't', text: step.ms.toFixed(2) }));
  rails(row);
  // Beside its rail: to the left of the subscriber's, to the right of the others'.
  const lane = RAIL[step.lane];
  const right = step.lane === 'subscriber';
  row.append(el('span', { class: `note-text at-${step.lane}`, style: `grid-column: ${right ? '3 / 5' : `${lane} / 6`}`, text: right ? `${step.text} ★` : `★ ${step.text}` }));
  return row;
}

function showDetails(step, pair, button) {
  for (const b of document.querySelectorAll('.arrow.chosen')) b.classList.remove('chosen');
  button.classList.add('chosen');
  const box = $('details');
  box.replaceChildren(
    el('h2', { text: 'Packet' }),
    el('p', { class: 'chosen-label', text: `${step.label}${step.lost ? ' (lost in the cut: never arrived)' : ''}` }),
    el(
      'dl',
      {},
      el('dt', { text: 'Direction' }), el('dd', { text: `${LANE[step.from]} → ${LANE[step.to]} (the ${step.leg}'s leg, connection ${step.connection})` }),
      el('dt', { text: 'Pair' }), el('dd', { text: pair.title }),
      el('dt', { text: 'Time' }), el('dd', { text: `${step.ms.toFixed(2)} ms after the pair's first packet` }),
      el('dt', { text: 'Fields (-v)' }), el('dd', { class: 'mono', text: step.details }),
      step.rule ? el('dt', { text: 'Rule broken' }) : null, step.rule ? el('dd', { text: step.rule }) : null,
    ),
    el('h3', { text: `Trace records (${step.records.length})` }),
    el('pre', { class: 'records', text: step.records.map((r) => JSON.stringify(r)).join('\n') || 'none: only the fault proxy saw it' }),
  );
}

async function drawPair(pair, token) {
  const section = el(
    'section',
    { class: 'pair', 'data-pub': pair.publishQos, 'data-sub': pair.subscribeQos },
    el('h2', { text: pair.title }),
    pair.ids ? el('p', { class: 'ids mono', text: pair.ids }) : null,
    el('p', { class: 'lane-note', text: pair.brokerLane }),
  );
  for (const warning of pair.warnings) section.append(el('p', { class: 'problem', text: `! ${warning}` }));
  const list = el('ol', { class: 'steps', 'aria-label': pair.title });
  section.append(list);
  $('pairs').append(section);
  for (const step of pair.steps) {
    if (token !== drawing) return;
    list.append(step.kind === 'arrow' ? arrowRow(step, pair) : step.kind === 'cut' ? cutRow(step) : noteRow(step));
    if (speed() > 0) {
      list.lastElementChild.scrollIntoView({ block: 'nearest' });
      await sleep(speed());
    }
  }
  if (token === drawing) fillCell(pair.cell);
}

function enqueue(pair) {
  const token = drawing;
  queue = queue.then(() => drawPair(pair, token)).then(() => settleIfDone(token));
}

function settleIfDone(token) {
  if (token !== drawing || !finished) return;
  if (finished.kind === 'failed') return setState('failed', `Run ${runId} failed.`);
  const { pairs: n, records, verdict } = finished;
  setState('done', `Run ${runId}: ${n} pair${n === 1 ? '' : 's'} drawn from ${records.packets} packet records${records.cuts ? ` and ${records.cuts} cut(s)` : ''}${verdict ? ' — the broker did not do its part (see below)' : ''}.`);
  if (verdict) $('error').textContent = verdict;
  $('terminal-matrix').textContent = finished.matrix.join('\n');
  $('terminal').hidden = finished.matrix.length === 0;
}

function restart() {
  drawing++;
  queue = Promise.resolve();
  $('pairs').replaceChildren();
  $('terminal').hidden = true;
  resetMatrix();
}

// ---- the lab's events ----
/** Resolves once the event stream is open: a run asked for after that is seen from its first packet. */
function listen() {
  const events = new EventSource('/api/events');
  let opened;
  const open = new Promise((done) => (opened = done));
  events.addEventListener('open', () => {
    if (document.body.dataset.state === 'idle') setState('idle', 'Ready: choose a pair (or all nine) and press Run.');
    opened();
  });
  events.addEventListener('error', () => setState('offline', 'The lab is not answering (stopped?). This page reconnects when it is back.'));
  events.addEventListener('run', (e) => {
    const run = JSON.parse(e.data);
    runId = run.run;
    pairs = [];
    finished = null;
    restart();
    $('error').textContent = '';
    $('command').textContent = `same as: ${run.command}`;
    $('live').textContent = '';
    seen = 0;
    for (const a of [$('dl-trace'), $('dl-mermaid')]) a.setAttribute('aria-disabled', 'false');
    $('replay').disabled = true;
    $('go').disabled = true;
    setState('running', `Run ${run.run}: ${run.broker}, ${run.version}`);
  });
  // The live ticker: each packet as a client or the tap logs it; the pair's arrows follow when it ends.
  let seen = 0;
  events.addEventListener('packet', (e) => {
    const packet = JSON.parse(e.data);
    if (packet.run !== runId) return;
    seen++;
    $('live').textContent = `live: ${packet.lane} ${packet.direction === 'send' ? 'sent' : 'received'} ${packet.label} (${seen} packet records so far)`;
  });
  events.addEventListener('pair', (e) => {
    const pair = JSON.parse(e.data);
    if (pair.run !== runId) return;
    pairs.push(pair);
    enqueue(pair);
  });
  for (const kind of ['done', 'failed']) {
    events.addEventListener(kind, (e) => {
      const end = JSON.parse(e.data);
      if (end.run !== runId && kind === 'done') return;
      runId = end.run;
      finished = { kind, ...end };
      $('replay').disabled = pairs.length === 0;
      $('go').disabled = false;
      if (kind === 'failed') $('error').textContent = end.error;
      const token = drawing;
      queue = queue.then(() => settleIfDone(token));
    });
  }
  return open;
}

/** Asks the lab for a run of the controls' values; `auto`: the page's own first run (another page may have started one). */
async function run(event, auto = false) {
  event?.preventDefault();
  $('error').textContent = '';
  const request = { pub: $('pub').value, sub: $('sub').value, session: $('session').value, fault: $('fault').value, broker: $('broker').value };
  const response = await fetch('/api/run', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
  if (!response.ok) {
    const { error } = await response.json();
    if (auto && response.status === 409) return;
    $('error').textContent = error;
    if (document.body.dataset.state !== 'running') setState('refused', 'The lab refused that run (see the error below).');
  }
}

function replay() {
  restart();
  setState('running', `Replaying run ${runId}…`);
  for (const pair of pairs) enqueue(pair);
  const token = drawing;
  queue = queue.then(() => settleIfDone(token));
}

async function init() {
  resetMatrix();
  const { defaults, runs } = await (await fetch('/api/config')).json();
  for (const [key, value] of Object.entries(defaults)) {
    const control = $(key);
    if (!control) continue;
    // A list the selects do not offer (--pub 1,2) gets an option of its own.
    if (control.tagName === 'SELECT' && ![...control.options].some((o) => o.value === value)) control.append(el('option', { value, text: value }));
    control.value = value;
  }
  $('run').addEventListener('submit', run);
  $('replay').addEventListener('click', replay);
  // Up and Down step through the arrows, showing each one's fields.
  $('pairs').addEventListener('keydown', (e) => {
    if (!e.target.classList.contains('arrow') || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp')) return;
    const arrows = [...document.querySelectorAll('#pairs .arrow')];
    const next = arrows[arrows.indexOf(e.target) + (e.key === 'ArrowDown' ? 1 : -1)];
    if (!next) return;
    e.preventDefault();
    next.focus();
    next.click();
  });
  for (const a of [$('dl-trace'), $('dl-mermaid')]) a.addEventListener('click', (e) => a.getAttribute('aria-disabled') === 'true' && e.preventDefault());
  await listen();
  // The first page opened runs the lab at once: the pairs are drawn without a click.
  if (runs === 0) run(undefined, true);
}

init();
