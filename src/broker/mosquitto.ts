// Debian's mosquitto, started on a free loopback port with a generated config:
// a second, independent broker for tests, benches and `npm run broker`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, mqttUrl, type Endpoint } from './listen';
import { adopt, untilReady } from './children';

export interface MosquittoOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Extra config lines for the listener, e.g. `max_qos 1`, `password_file ...`. */
  config?: string[];
  /** Written as a mosquitto password_file (hashed, never on a command line); anonymous clients are then refused. */
  credentials?: { username: string; password: string };
}

export interface MosquittoBroker extends Endpoint {
  /** The folder holding the generated config: put password files or certificates here. */
  dir: string;
  /** What mosquitto has logged so far. */
  log(): string;
}

/** The mosquitto binary, or null when it is not installed. */
let found: string | null | undefined;

/** Looked up once per process: each start (and port retry) would otherwise spawn mosquitto -h again. */
export function mosquittoPath(): string | null {
  if (found === undefined) found = lookUpMosquitto();
  return found;
}

function lookUpMosquitto(): string | null {
  for (const candidate of ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto']) {
    if (spawnSync(candidate, ['-h']).status !== null) return candidate;
  }
  const found = spawnSync('sh', ['-c', 'command -v mosquitto']).stdout?.toString().trim();
  return found ? found : null;
}

/** A port nobody listens on right now (mosquitto cannot be told to pick one itself). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  const { port } = await listen(server, host, 0);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoBroker> {
  // freePort() closes its port before mosquitto binds it, and another process may take it in between: pick again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startMosquittoOn(options, options.port || (await freePort(options.host ?? '127.0.0.1')));
    } catch (error) {
      if (options.port || attempt === 5 || !/Address already in use/.test((error as Error).message)) throw error;
    }
  }
}

async function startMosquittoOn(options: MosquittoOptions, port: number): Promise<MosquittoBroker> {
  const binary = mosquittoPath();
  if (!binary) throw new Error("mosquitto is not installed (run 'bash scripts/install-mosquitto.sh')");
  const host = options.host ?? '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-qos-lab-mosquitto-'));
  const configPath = join(dir, 'mosquitto.conf');
  const extra = [...(options.config ?? [])];
  if (options.credentials) {
    const passwordPath = join(dir, 'passwords');
    writeFileSync(passwordPath, passwordLine(options.credentials.username, options.credentials.password), { mode: 0o600 });
    extra.push(`password_file ${passwordPath}`, 'allow_anonymous false');
  }
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
    ...extra,
  ];
  if (!extra.some((l) => /^\s*(allow_anonymous|password_file)\b/.test(l))) lines.push('allow_anonymous true');
  writeFileSync(configPath, `${lines.join('\n')}\n`);

  const child: ChildProcess = spawn(binary, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  // From here on, every way out of this process (close, error, signal, exit) stops mosquitto and removes dir.
  const stop = adopt(child, dir);
  const { ready, log } = untilReady(child, 'mosquitto', /mosquitto version .* running/, READY_MS);
  try {
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, port, url: mqttUrl(host, port), dir, log, close: stop };
}

/** How long mosquitto may take to start listening. */
const READY_MS = 10_000;

/**
 * One password_file line in mosquitto 2's own format ($7$: PBKDF2-SHA512,
 * 101 iterations, as mosquitto_passwd writes it), so the password never goes
 * on a command line.
 */
function passwordLine(username: string, password: string): string {
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(password, salt, 101, 64, 'sha512');
  return `${username}:$7$101$${salt.toString('base64')}$${hash.toString('base64')}\n`;
}
