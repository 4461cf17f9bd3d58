// Debian's mosquitto, started on a free loopback port with a generated config:
// a second, independent broker for tests, benches and `npm run broker`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MosquittoOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Extra config lines for the listener, e.g. `max_qos 1`, `password_file ...`. */
  config?: string[];
}

export interface MosquittoBroker {
  host: string;
  port: number;
  url: string;
  /** The folder holding the generated config: put password files or certificates here. */
  dir: string;
  /** What mosquitto has logged so far. */
  log(): string;
  close(): Promise<void>;
}

/** The mosquitto binary, or null when it is not installed. */
export function mosquittoPath(): string | null {
  for (const candidate of ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto']) {
    if (spawnSync(candidate, ['-h']).status !== null) return candidate;
  }
  const found = spawnSync('sh', ['-c', 'command -v mosquitto']).stdout?.toString().trim();
  return found ? found : null;
}

/** A port nobody listens on right now (mosquitto cannot be told to pick one itself). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const binary = mosquittoPath();
  if (!binary) throw new Error("mosquitto is not installed (run 'bash scripts/install-mosquitto.sh')");
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-qos-lab-mosquitto-'));
  const configPath = join(dir, 'mosquitto.conf');
  const lines = [
    // As root, mosquitto would switch to the 'mosquitto' user; stay who we are so it can read our files.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'per_listener_settings false',
    `listener ${port} ${host}`,
    ...(options.config ?? []),
  ];
  if (!(options.config ?? []).some((l) => /^\s*(allow_anonymous|password_file)\b/.test(l))) lines.push('allow_anonymous true');
  writeFileSync(configPath, `${lines.join('\n')}\n`);

  const child: ChildProcess = spawn(binary, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/mosquitto version .* running/.test(output)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`mosquitto exited (${code}) before it was ready:\n${output}`)));
    child.once('error', reject);
  });
  try {
    await ready;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    url: `mqtt://${shownHost}:${port}`,
    dir,
    log: () => output,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
