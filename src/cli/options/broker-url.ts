// --broker: a URL, host[:port], or a public test broker by name; and which
// hosts are loopback, for the commands that must not reach beyond this machine.
import { BlockList, isIP } from 'node:net';
import { UsageError } from '../errors';

/**
 * Public test brokers of the lesson's kind, named `public:NAME` (PUBLIC_PREFIX):
 * a bare `mosquitto` is a host (a container's, often), never the internet.
 * Tests and CI never contact them.
 */
export const PUBLIC_BROKERS: Record<string, string> = {
  mosquitto: 'mqtt://test.mosquitto.org:1883',
  emqx: 'mqtt://broker.emqx.io:1883',
  hivemq: 'mqtt://broker.hivemq.com:1883',
};

const PUBLIC_PREFIX = 'public:';

/** `public:mosquitto`, …: the spellings --broker takes for the presets. */
export const PUBLIC_NAMES = Object.keys(PUBLIC_BROKERS).map((name) => `${PUBLIC_PREFIX}${name}`);

export const DEFAULT_BROKER = 'mqtt://localhost:1883';

const SCHEMES = ['mqtt', 'mqtts', 'ws', 'wss'];

/**
 * `mqtt://u:secret@host` → `mqtt://u:***@host`. Everything after the user
 * name up to the last '@' may be the password (one may hold '/', ':' or '@'),
 * so all of it goes. A user name is shown only when a ':' ends it: a lone
 * `token@host` may be a secret sent as the user name.
 */
export function maskUserinfo(value: string): string {
  const at = value.lastIndexOf('@');
  if (at < 0) return value;
  // A scheme counts only with a slash after it: in `u:p:w@host` the 'u:' is the user name.
  const prefix = /^([a-z][a-z0-9+.-]*:)?\/+/i.exec(value)?.[0] ?? '';
  const userinfo = value.slice(prefix.length, at);
  const colon = userinfo.indexOf(':');
  return `${prefix}${colon < 0 ? '' : `${userinfo.slice(0, colon)}:`}***${value.slice(at)}`;
}

/** Turns --broker into a URL: a preset name, host[:port], or a full URL with a known scheme. */
export function brokerUrl(value: string): string {
  // Masked first: every message below shows `shown`, never `value`.
  const shown = maskUserinfo(value);
  // Any '@' may start a host after userinfo: refusing it here means no host is ever taken from a user name.
  if (value.includes('@')) throw new UsageError(`--broker '${shown}': pass credentials with --username and --password, not in the URL`);
  if (value.toLowerCase().startsWith(PUBLIC_PREFIX)) {
    const preset = PUBLIC_BROKERS[value.slice(PUBLIC_PREFIX.length).toLowerCase()];
    if (!preset) throw new UsageError(`--broker '${shown}': no such public test broker; there are ${PUBLIC_NAMES.join(', ')}`);
    return preset;
  }
  if (value.startsWith('//')) throw new UsageError(`--broker '${shown}' has no scheme before '//': write mqtt://HOST, or just HOST`);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  // `mqtt:/host` and `mqtt:host` are URLs missing a slash; `localhost:1883` is host:port.
  if (scheme !== undefined && SCHEMES.includes(scheme) && !/^[a-z0-9+.-]+:\/\//i.test(value)) {
    throw new UsageError(`--broker '${shown}': write ${scheme}://HOST (two slashes)`);
  }
  // A bare IPv6 address (::1) gets its brackets; anything else without a scheme is host[:port].
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : isIP(value) === 6 ? `mqtt://[${value}]` : `mqtt://${value}`;
  const authority = text.split('://')[1]?.split(/[/?#]/)[0] ?? '';
  // new URL() drops an explicit port 0 and rejects > 65535 as "invalid": read the port from the text.
  const port = /:(\d+)$/.exec(authority)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw new UsageError(`--broker '${shown}': port must be 1 to 65535, got ${port}`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--broker '${shown}' is not a valid URL or host`);
  }
  const urlScheme = url.protocol.slice(0, -1);
  if (!SCHEMES.includes(urlScheme)) throw new UsageError(`--broker '${shown}': unknown scheme '${urlScheme}', use ${SCHEMES.join(', ')}`);
  if (!url.hostname) throw new UsageError(`--broker '${shown}' names no host`);
  const badHost = hostProblem(url.hostname);
  if (badHost) throw new UsageError(`--broker '${shown}': ${badHost}`);
  // Host names are case-insensitive; mqtt: URLs keep the case as typed, so lower it once here.
  url.hostname = url.hostname.toLowerCase();
  return url.toString().replace(/\/$/, '');
}

/** The host of a URL brokerUrl returned, as a listen or dial address (no brackets). */
export function urlHost(url: string): string {
  return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
}

/** What is wrong with a host name (RFC 1123 letters, digits, '-', '.'; '_' too, as container names use it), or null. */
export function hostProblem(host: string): string | null {
  if (host.startsWith('[') || isIP(host) !== 0) return null; // an IP literal: new URL() or isIP has checked it
  const bad = host.match(/[^a-z0-9._-]/i)?.[0];
  if (bad !== undefined) return `host '${host}' contains ${bad === ' ' ? 'a space' : `'${bad}'`}, which a host name cannot contain`;
  // One trailing dot is the fully qualified spelling (localhost.), not an empty label.
  if (host.replace(/\.$/, '').split('.').some((label) => label === '' || label.startsWith('-') || label.endsWith('-'))) {
    return `host '${host}' is not a valid host name (empty label, or one starting or ending with '-')`;
  }
  return null;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4'); // BlockList matches ::ffff:127.x.x.x against this too
LOOPBACK.addAddress('::1', 'ipv6');

/** The host without brackets, lower case, without a trailing dot: the same host however it was spelled. */
export function canonicalHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1').toLowerCase().replace(/\.$/, '');
}

/**
 * True only for hosts that are this machine whatever the resolver says:
 * `localhost` and loopback IP literals. Any other name counts as remote,
 * even one that resolves to 127.0.0.1: we check what was typed, never DNS.
 */
export function isLoopbackHost(host: string): boolean {
  const h = canonicalHost(host);
  if (h === 'localhost') return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 6 ? 'ipv6' : 'ipv4');
}

/** The line said on stderr before connecting to a public test broker (by preset or by host), or null. */
export function publicBrokerNote(url: string): string | null {
  const host = canonicalHost(urlHost(url));
  if (!isPublicBrokerHost(host)) return null;
  return `note: ${host} is a public test broker: anyone can read what you publish there and publish to your topics`;
}

/** True for the public test brokers' hosts, however the host is spelled. */
export function isPublicBrokerHost(host: string): boolean {
  const h = canonicalHost(host);
  return Object.values(PUBLIC_BROKERS).some((url) => new URL(url).hostname === h);
}
