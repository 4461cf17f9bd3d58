// `-` for a file flag is stdout, as Unix tools have it: `--trace -` and
// `--mermaid -` write the file there, the command's own lines go to stderr,
// and no file named `-` appears. In-process, through main(argv, io).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TraceRecord } from '../../src/mqtt/trace';
import { testBroker } from '../support/broker';
import { run } from '../support/in-process';

const ROOT = join(__dirname, '..', '..');

function records(out: string): TraceRecord[] {
  return out.trimEnd().split('\n').map((line) => JSON.parse(line) as TraceRecord);
}

test('publish --trace -: stdout is the trace alone, one JSON record per packet line; the packet lines go to stderr', async (t) => {
  const broker = await testBroker(t);
  const result = await run('publish', ['--broker', broker.url, '--qos', '1', '--client-id', 'stdout-pub', '--trace', '-']);
  assert.equal(result.code, 0, result.err);
  const lines = result.err.split('\n').filter((line) => /^(send|receive): /.test(line));
  assert.deepEqual(lines.map((line) => line.split(/\s+/).slice(0, 2).join(' ')), ['send: connect', 'receive: connack', 'send: publish', 'receive: puback', 'send: disconnect']);
  assert.deepEqual(records(result.out).map((r) => `${r.direction}: ${r.type}`), ['send: connect', 'receive: connack', 'send: publish', 'receive: puback', 'send: disconnect']);
  assert.ok(!existsSync(join(ROOT, '-')) && !existsSync('-'), 'no file named -');
});

test('subscribe --trace -: the payload goes to stderr with the packet lines, stdout stays JSON', async (t) => {
  const broker = await testBroker(t);
  await run('publish', ['--broker', broker.url, '--qos', '1', '--retain', '--message', 'kept', '--client-id', 'stdout-pub2']);
  const result = await run('subscribe', ['--broker', broker.url, '--qos', '1', '--count', '1', '--timeout', '10', '--client-id', 'stdout-sub', '--clean', '--trace', '-']);
  assert.equal(result.code, 0, result.err);
  assert.match(result.err, /^message #1 on home\/sample_topic at QoS 1 \(retained\): kept$/m);
  assert.ok(records(result.out).some((r) => r.direction === 'receive' && r.type === 'publish'));
});

test('npm start -- --trace -: stdout is the trace; the timeline and the matrix go to stderr', async () => {
  const result = await run('lab', ['--pub', '1', '--sub', '1', '--trace', '-']);
  assert.equal(result.code, 0, result.err);
  const mine = records(result.out);
  assert.ok(mine.length >= 8 && mine.every((r) => r.pair === 'pub 1 / sub 1'), result.out);
  assert.match(result.err, /^== publish QoS 1, subscribe QoS 1, delivered at QoS 1/m);
  assert.match(result.err, /^trace: \d+ packet records written to stdout$/m);
});

test('npm start -- --mermaid -: stdout is the Markdown with one sequenceDiagram', async () => {
  const result = await run('lab', ['--pub', '0', '--sub', '0', '--mermaid', '-']);
  assert.equal(result.code, 0, result.err);
  assert.equal([...result.out.matchAll(/```mermaid\nsequenceDiagram\n/g)].length, 1, result.out);
  assert.doesNotMatch(result.out, /^== publish QoS/m);
});

test('two file flags cannot both be -: one usage error before anything runs', async () => {
  const result = await run('lab', ['--trace', '-', '--mermaid', '-']);
  assert.equal(result.code, 1);
  assert.equal(result.err, "Error: only one file flag can be '-' (stdout): give the others a file name (see 'npm start -- --help')\n");
  assert.equal(result.out, '');
});
