// Debian's redis-server, started on a free loopback port for the aedes cluster
// (its nodes share messages and sessions through it) and stopped with it. In
// memory only: no dump file, no append-only file, nothing outlives the command.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adopt, untilReady } from './children';
import type { Address } from './listen';
import { freePort } from './mosquitto';

export interface RedisServer extends Address {
  /** `redis 7.0.15`, for headings. */
  name: string;
  log(): string;
  close(): Promise<void>;
}

let found: string | null | undefined;

/** The redis-server binary, or null when it is not installed; looked up once per process. */
export function redisPath(): string | null {
  if (found === undefined) {
    found = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => spawnSync(p, ['--version']).status === 0) ?? null;
  }
  return found;
}

const READY_MS = 10_000;

export async function startRedis(host = '127.0.0.1'): Promise<RedisServer> {
  // As with mosquitto: the free port can be taken before redis binds it; pick again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisOn(host, await freePort(host));
    } catch (error) {
      // redis's last line then is 'Failed listening on port N (tcp), aborting.'
      if (attempt === 5 || !/Address already in use|Failed listening on port/i.test((error as Error).message)) throw error;
    }
  }
}

async function startRedisOn(host: string, port: number): Promise<RedisServer> {
  const binary = redisPath();
  if (!binary) throw new Error("redis-server is not installed (run 'bash scripts/install-redis.sh')");
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-qos-lab-redis-'));
  // protected-mode stays on and bind is loopback: nothing beyond this machine can reach it.
  const args = ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'notice'];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = adopt(child, dir);
  const { ready, log } = untilReady(child, 'redis-server', /Ready to accept connections/, READY_MS);
  try {
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  const version = /v=(\S+)/.exec(spawnSync(binary, ['--version']).stdout?.toString() ?? '')?.[1];
  return { host, port, name: `redis ${version ?? ''}`.trim(), log, close: stop };
}
