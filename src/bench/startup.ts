// bench:startup: process start → CONNECT → PUBLISH QoS 1 → PUBACK →
// exit, timed from outside with child_process (no hyperfine needed), for the
// compiled bin, the lesson's ts-node path and MQTT.js's own `mqtt pub`,
// against an embedded broker this script starts. Runs alternate between the
// commands so a busy moment on the machine hits them all alike.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { start } from '../broker/start';
import { adopt } from '../broker/children';
import { within } from '../mqtt/wait';
import { ChildFailed } from '../broker/children';
import { InputError, MqttError } from '../mqtt/errors';
import { median } from './stats';

const ROOT = join(__dirname, '..', '..');
/** One timed run (a start, one QoS 1 message, an exit) that takes longer than this is stuck. */
const RUN_MS = 30_000;

/** What our publish sends when given no topic or message: `mqtt pub` is given the same, so all three do the same work. */
export interface DefaultMessage {
  topic: string;
  message: string;
}

interface Command {
  name: string;
  argv: string[];
}

function commands(host: string, port: number, url: string, same: DefaultMessage): Command[] {
  return [
    { name: 'compiled bin (node dist/publish.js --qos=1)', argv: [process.execPath, join(ROOT, 'dist', 'publish.js'), '--qos=1', '--broker', url] },
    { name: 'lesson path (npx ts-node src/publish.ts --qos=1)', argv: ['npx', 'ts-node', 'src/publish.ts', '--qos=1', '--broker', url] },
    {
      name: "MQTT.js bin (mqtt pub -q 1)",
      argv: [join(ROOT, 'node_modules', '.bin', 'mqtt'), 'pub', '-h', host, '-p', String(port), '-q', '1', '-t', same.topic, '-m', same.message],
    },
    // What the lesson path costs before any of our code runs.
    { name: 'npx and ts-node alone (npx ts-node --version)', argv: ['npx', 'ts-node', '--version'] },
  ];
}

/** Milliseconds from spawn to exit; a failed run is an error, not a figure. */
async function time(command: Command): Promise<number> {
  const [file, ...args] = command.argv;
  const start = process.hrtime.bigint();
  const child = spawn(file!, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const stop = adopt(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = (await within(once(child, 'exit'), RUN_MS)) as [number | null] | null;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  await stop();
  if (exited === null) throw new MqttError('timeout', `${command.name} did not exit within ${RUN_MS / 1000} s`);
  const [code] = exited;
  if (code !== 0) throw new ChildFailed(`${command.name} exited with ${code}: ${err.trim().split('\n').at(-1) ?? ''}`, null);
  return ms;
}

/** Times every command `runs` times, then prints the medians and their ratios. */
export async function runStartup(runs: number, same: DefaultMessage, print: (line: string) => void): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'publish.js'))) throw new InputError("dist/publish.js is missing: run 'npm run build' first");
  const broker = await start('aedes');
  const list = commands(broker.host, broker.port, broker.url, same);
  const times = list.map(() => [] as number[]);
  try {
    await time(list[1]!); // warm the file cache and npx's lookup once; not counted
    for (let run = 0; run < runs; run++) {
      const order = list.map((_, i) => (i + run) % list.length);
      for (const i of order) times[i]!.push(await time(list[i]!));
    }
  } finally {
    await broker.close();
  }
  const medians = times.map(median);
  print(`bench:startup: ${runs} runs each, start → PUBACK → exit, embedded broker ${broker.url}`);
  list.forEach((c, i) => {
    const t = times[i]!;
    print(`  ${c.name.padEnd(52)} median ${medians[i]!.toFixed(0).padStart(5)} ms  (min ${Math.min(...t).toFixed(0)}, max ${Math.max(...t).toFixed(0)})`);
  });
  const [compiled, lesson, mqttjs, tsNode] = medians as [number, number, number, number];
  print(`  compiled bin / MQTT.js bin: ${(compiled / mqttjs).toFixed(2)}x`);
  print(`  lesson path / compiled bin: ${(lesson / compiled).toFixed(2)}x; of the lesson path, ${((tsNode / lesson) * 100).toFixed(0)} % is npx and ts-node starting (npx ts-node --version)`);
}
