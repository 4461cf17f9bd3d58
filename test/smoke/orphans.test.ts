// No orphans: the commands that start child processes (mosquitto, the load
// test's broker and publisher) take them along on every way out, with their
// temp folders. Real spawns, real signals; after the parent has exited, each
// child's pid is gone and its folder removed.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { EXIT } from '../../src/cli/errors';
import { ROOT, runCli, type Run } from '../support/cli';
import { needsMosquitto } from '../support/mosquitto';
import { hostileBroker, HOSTILE } from '../support/hostile-broker';

interface Child {
  pid: number;
  command: string;
}

/** The direct children of `pid`, from ps. */
function childrenOf(pid: number): Child[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there are none
  }
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, p, command] = /^\s*(\d+)\s+(.*)$/.exec(line)!;
      return { pid: Number(p), command: command! };
    });
}

/** mosquitto's temp folder, from its command line (-c DIR/mosquitto.conf). */
function configDir(child: Child): string {
  const conf = /-c (\S+)\/mosquitto\.conf/.exec(child.command)?.[1];
  assert.ok(conf, `mosquitto's config path in '${child.command}'`);
  return conf;
}

/** The process is gone; `zombieOk`: or dead and unreaped, which is all a parent that exited at once can leave (PID 1 reaps it, where PID 1 reaps). */
function assertGone(pid: number, what: string, zombieOk = false): void {
  let alive = true;
  try {
    process.kill(pid, 0);
  } catch {
    alive = false;
  }
  if (!alive) return;
  const state = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
  assert.ok(zombieOk && state === 'Z', `${what} (pid ${pid}) is still there, state ${state}`);
}

/** The children of a spawned command, once it has printed `ready`. */
async function childrenWhenReady(run: Run, ready: RegExp, match: RegExp, count = 1): Promise<Child[]> {
  await run.waitFor(ready);
  const found = childrenOf(run.child.pid!).filter((c) => match.test(c.command));
  assert.equal(found.length, count, `children matching ${match}: ${JSON.stringify(childrenOf(run.child.pid!))}`);
  return found;
}

/** Ends within `ms` or fails (and kills it). */
async function ended(run: Run, ms: number): Promise<{ code: number | null; stderr: string }> {
  const timer = setTimeout(() => run.child.kill('SIGKILL'), ms);
  const done = await run.done;
  clearTimeout(timer);
  assert.notEqual(done.code, null, `still running after ${ms} ms`);
  return done;
}

const LONG_CHAOS = ['--engine', 'mosquitto', '--count', '100000', '--rate', '200', '--qos', '1'];

for (const [signal, code] of [['SIGTERM', EXIT.terminated], ['SIGINT', EXIT.interrupted]] as const) {
  test(`chaos --engine mosquitto, ${signal}: exits ${code}, mosquitto and its folder gone`, needsMosquitto, async (t) => {
    const run = runCli('chaos', LONG_CHAOS, { t });
    const [mosquitto] = await childrenWhenReady(run, /broker: mosquitto/, /mosquitto -c/);
    const dir = configDir(mosquitto!);
    assert.ok(existsSync(dir));
    run.child.kill(signal);
    const done = await ended(run, 5000);
    assert.equal(done.code, code, done.stderr);
    assert.equal(done.stderr, '');
    assertGone(mosquitto!.pid, 'mosquitto');
    assert.ok(!existsSync(dir), `${dir} removed`);
  });
}

test('chaos --engine mosquitto, a second SIGTERM while the first waits on a frozen mosquitto: exits at once, mosquitto killed anyway', needsMosquitto, async (t) => {
  const run = runCli('chaos', LONG_CHAOS, { t });
  const [mosquitto] = await childrenWhenReady(run, /broker: mosquitto/, /mosquitto -c/);
  const dir = configDir(mosquitto!);
  t.after(() => {
    try {
      process.kill(mosquitto!.pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  });
  process.kill(mosquitto!.pid, 'SIGSTOP'); // the first signal's polite SIGTERM now waits (up to 2 s)
  run.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const second = performance.now();
  run.child.kill('SIGTERM');
  const done = await ended(run, 5000);
  assert.ok(performance.now() - second < 1500, `the second signal ended it at once (${(performance.now() - second).toFixed(0)} ms)`);
  assert.equal(done.code, EXIT.terminated);
  assertGone(mosquitto!.pid, 'mosquitto', true);
  assert.ok(!existsSync(dir), `${dir} removed`);
});

test('an uncaught exception with mosquitto running: one Error: line, mosquitto and its folder gone', needsMosquitto, async () => {
  // An entry's shape (runMain), a throw from an event handler: the path that never reaches main's promise.
  const script = [
    "const { runMain } = require('./src/cli/main');",
    "const { startMosquitto } = require('./src/broker/mosquitto');",
    "runMain('probe', async () => { const m = await startMosquitto(); process.stdout.write(m.dir + '\\n'); setTimeout(() => { throw new Error('boom'); }, 50); return new Promise(() => undefined); });",
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let mosquitto: Child | undefined;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    mosquitto ??= childrenOf(child.pid!).find((c) => /mosquitto -c/.test(c.command));
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(err, 'Error: boom\n');
  assert.equal(code, EXIT.usage);
  assert.ok(mosquitto, 'mosquitto was seen running');
  assertGone(mosquitto.pid, 'mosquitto', true);
  assert.ok(!existsSync(out.trim()), `${out.trim()} removed`);
});

test('scenario --engine mosquitto, mosquitto frozen: the bounded wait ends it with exit 4, and the frozen mosquitto is killed', { ...needsMosquitto, timeout: 100_000 }, async (t) => {
  // The scenario needs ~0.3 s after its banner: on a loaded machine it can finish before the freeze lands. Then try again.
  for (let attempt = 1; ; attempt++) {
    const run = runCli('scenario', ['offline', '--engine', 'mosquitto'], { t });
    await run.waitFor(/^broker: mosquitto/m);
    const [mosquitto] = childrenOf(run.child.pid!).filter((c) => /mosquitto -c/.test(c.command));
    const dir = mosquitto && configDir(mosquitto);
    // Frozen before our clients connect? They may already have; either way a wait on it runs out.
    try {
      if (mosquitto) process.kill(mosquitto.pid, 'SIGSTOP');
    } catch {
      // already gone: the scenario finished first
    }
    const done = await ended(run, 30_000);
    if ((done.code === EXIT.ok || !mosquitto) && attempt < 3) continue;
    assert.ok(mosquitto && dir);
    assert.equal(done.code, EXIT.timeout, done.stderr);
    // One line naming the answer that never came (CONNACK, SUBACK or an acknowledgement) and the 10 s bound.
    assert.match(done.stderr, /^Error: [^\n]*(no|sent no) [A-Z]+ [^\n]*within 10 s[^\n]*\n$/);
    assertGone(mosquitto.pid, 'mosquitto');
    assert.ok(!existsSync(dir), `${dir} removed`);
    return;
  }
});

test('load (aedes in its own process), SIGTERM: exits 143, its broker and publisher processes gone', async (t) => {
  const run = runCli('load', ['--engine', 'aedes', '--seconds', '60', '--rate', '100'], { t });
  await run.waitFor(/publishing 100 msg\/s/);
  // The publisher process starts right after that line.
  let kids: Child[] = [];
  for (let i = 0; i < 100 && kids.length < 2; i++) {
    kids = childrenOf(run.child.pid!);
    if (kids.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(kids.map((k) => /load-publisher/.test(k.command) ? 'publisher' : /broker/.test(k.command) ? 'broker' : k.command).sort(), ['broker', 'publisher']);
  run.child.kill('SIGTERM');
  const done = await ended(run, 6000);
  assert.equal(done.code, EXIT.terminated, done.stderr);
  for (const kid of kids) assertGone(kid.pid, kid.command);
});

test('npm run broker --engine mosquitto, SIGTERM: mosquitto and its folder gone', needsMosquitto, async (t) => {
  const run = runCli('broker', ['--engine', 'mosquitto', '--port', '0', '--quiet'], { t });
  const [mosquitto] = await childrenWhenReady(run, /listening on/, /mosquitto -c/);
  const dir = configDir(mosquitto!);
  run.child.kill('SIGTERM');
  await ended(run, 5000);
  assertGone(mosquitto!.pid, 'mosquitto');
  assert.ok(!existsSync(dir));
});


test('bench stuck on a broker that never acknowledges, SIGINT: exits 130 at once', async (t) => {
  const broker = await hostileBroker(t, HOSTILE.neverAck);
  const run = runCli('bench', ['--broker', broker.url, '--qos', '1', '--count', '100', '--idle', '60'], { t });
  await broker.waitFor('publish');
  const sent = performance.now();
  run.child.kill('SIGINT');
  const done = await ended(run, 3000);
  assert.equal(done.code, EXIT.interrupted, done.stderr);
  assert.equal(done.stderr, '');
  assert.ok(performance.now() - sent < 2000);
});

test('scenario waiting on a broker that never sends SUBACK, SIGTERM: exits 143 at once', async (t) => {
  const broker = await hostileBroker(t, HOSTILE.neverSuback);
  const run = runCli('scenario', ['offline', '--broker', broker.url], { t });
  await broker.waitFor('subscribe');
  run.child.kill('SIGTERM');
  const done = await ended(run, 3000);
  assert.equal(done.code, EXIT.terminated, done.stderr);
  assert.equal(done.stderr, '');
});
