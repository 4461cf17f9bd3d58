// --broker: a URL, host[:port], or a public test broker by name.
import { UsageError } from '../errors';

/** Public test brokers of the lesson's kind, by short name. Tests and CI never contact them. */
export const PUBLIC_BROKERS: Record<string, string> = {
  mosquitto: 'mqtt://test.mosquitto.org:1883',
  emqx: 'mqtt://broker.emqx.io:1883',
  hivemq: 'mqtt://broker.hivemq.com:1883',
};

export const DEFAULT_BROKER = 'mqtt://localhost:1883';

const SCHEMES = ['mqtt', 'mqtts', 'ws', 'wss'];

/** Turns --broker into a URL: a preset name, host[:port], or a full URL with a known scheme. */
export function brokerUrl(value: string): string {
  const preset = PUBLIC_BROKERS[value.toLowerCase()];
  if (preset) return preset;
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `mqtt://${value}`;
  const authority = text.split('://')[1]?.split('/')[0] ?? '';
  // Every message below shows the value as typed, so a password in it must never get that far.
  if (authority.includes('@')) {
    throw new UsageError(`--broker '${hidePassword(value)}': pass credentials with --username and --password, not in the URL`);
  }
  // new URL() drops an explicit port 0 and rejects > 65535 as "invalid": read the port from the text.
  const port = /:(\d+)$/.exec(authority)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw new UsageError(`--broker '${value}': port must be 1 to 65535, got ${port}`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--broker '${value}' is not a valid URL or host`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (!SCHEMES.includes(scheme)) throw new UsageError(`--broker '${value}': unknown scheme '${scheme}', use ${SCHEMES.join(', ')}`);
  if (!url.hostname) throw new UsageError(`--broker '${value}' names no host`);
  const badHost = hostProblem(url.hostname);
  if (badHost) throw new UsageError(`--broker '${value}': ${badHost}`);
  return url.toString().replace(/\/$/, '');
}

/** `mqtt://u:secret@host` → `mqtt://u:***@host`. */
function hidePassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?([^/@:]*):[^/@]*@/i, (_, scheme: string | undefined, user: string) => `${scheme ?? ''}${user}:***@`);
}

/** What is wrong with a host name (RFC 1123 letters, digits, '-', '.'; '_' too, as container names use it), or null. */
function hostProblem(host: string): string | null {
  if (host.startsWith('[')) return null; // an IPv6 literal: new URL() has checked it
  const bad = host.match(/[^a-z0-9._-]/i)?.[0];
  if (bad !== undefined) return `host '${host}' contains '${bad}', which a host name cannot contain`;
  if (host.split('.').some((label) => label === '' || label.startsWith('-') || label.endsWith('-'))) {
    return `host '${host}' is not a valid host name (empty label, or one starting or ending with '-')`;
  }
  return null;
}
