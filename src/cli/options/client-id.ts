// The default client id's machine part: stable across runs on one machine,
// different on every other. Host name and user alone are not enough: fresh
// VMs and containers share `vm`/`root` and would kick each other off a
// public broker (an MQTT broker drops the older connection of a client id).
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';

/** systemd's machine id, then D-Bus's (the same id on most systems; the second is older). */
export const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

/** A machine id is 32 hex digits; an empty file or "uninitialized" (first boot of an image) is none. */
function machineId(files: readonly string[]): string | undefined {
  for (const file of files) {
    try {
      const id = readFileSync(file, 'latin1').trim();
      if (/^[0-9a-f]{32}$/i.test(id)) return id;
    } catch {
      // absent or unreadable: try the next
    }
  }
  return undefined;
}

/** $XDG_STATE_HOME/mqtt-qos-lab, or ~/.local/state/mqtt-qos-lab. */
function stateDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'mqtt-qos-lab');
}

/**
 * No machine id (many containers): a random id, made once and kept in the
 * per-user state file. If that cannot be written either, a random id for this
 * run: unique, though a --no-clean session then does not survive a restart.
 */
function keptRandomId(env: NodeJS.ProcessEnv): string {
  const file = join(stateDir(env), 'machine-id');
  try {
    const kept = readFileSync(file, 'latin1').trim();
    if (/^[0-9a-f]{32}$/.test(kept)) return kept;
  } catch {
    // not made yet
  }
  const fresh = randomBytes(16).toString('hex');
  try {
    mkdirSync(stateDir(env), { recursive: true });
    // 'wx': if another run made it meanwhile, keep theirs, so both agree.
    writeFileSync(file, `${fresh}\n`, { flag: 'wx' });
    return fresh;
  } catch {
    try {
      const kept = readFileSync(file, 'latin1').trim();
      if (/^[0-9a-f]{32}$/.test(kept)) return kept;
    } catch {
      // not writable: this run's own id
    }
    return fresh;
  }
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return ''; // no passwd entry (some containers): the machine part still separates machines
  }
}

/**
 * A short tag for this machine and user (8 hex digits of a hash: the machine
 * id itself is never sent, as systemd asks). Default client ids and topics on
 * a public broker carry it.
 */
export function machineTag(env: NodeJS.ProcessEnv, files: readonly string[] = MACHINE_ID_FILES): string {
  const machine = machineId(files) ?? keptRandomId(env);
  return createHash('sha256').update(`mqtt-qos-lab\0${machine}\0${userName()}`).digest('hex').slice(0, 8);
}
