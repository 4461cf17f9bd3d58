// The one place a client is made. Packet listeners are attached before
// CONNECT is written (MQTT.js writes it inside connect(), so a listener added
// later misses CONNECT, CONNACK and anything queued for a resumed session).
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IConnackPacket } from 'mqtt-packet';
import { performance } from 'node:perf_hooks';
import { TLSSocket } from 'node:tls';
import { within } from './wait';
import { attachDupStore, DupStore } from './dup-store';
import { MqttError } from './errors';
import { FlowTracker, type Violation } from './flows';
import { snapshot, type PacketEvent } from './packet-event';
import { connackText, reasonText } from './reason-codes';
import type { QoS } from './qos';

/** MQTT.js's protocolVersion: 4 is MQTT 3.1.1, 5 is MQTT 5. */
export type ProtocolVersion = 4 | 5;

export interface ConnectionOptions {
  url: string;
  clientId: string;
  clean: boolean;
  protocol: ProtocolVersion;
  username?: string;
  password?: string;
  /** For mqtts:// and wss:// only. */
  tls?: TlsOptions;
  /**
   * Opt in to reconnecting after a lost connection (the fault lab): same client
   * id, and in-flight QoS 1/2 messages resent with DUP=1. Without it: one attempt.
   */
  reconnect?: ReconnectOptions;
  /**
   * MQTT 5 only: seconds the broker keeps our session after the connection ends
   * (CONNECT's Session Expiry Interval). Absent means 0: an MQTT 5 broker drops
   * the session at once, whatever `clean` says.
   */
  sessionExpiry?: number;
  /** Seconds of silence before we send PINGREQ (MQTT.js's default: 60). */
  keepalive?: number;
  /** How long to wait for the connection and its CONNACK (default 10 s). */
  connectTimeoutMs?: number;
  /** The broker as errors name it, when `url` is a relay in front of it (chaos); `url` when left out. */
  brokerName?: string;
  /** The Will: what the broker publishes for us if we vanish without DISCONNECT. */
  will?: Will;
}

/** CONNECT's Will message. */
export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
}

/** What a user's connection flags say about every connection of a command: its credentials, TLS, keepalive and (the tools) Will. */
export type ConnectionSettings = Pick<ConnectionOptions, 'username' | 'password' | 'tls' | 'keepalive' | 'will'>;

/** PEM texts (CA, client certificate and key); `verify` false only when the user asked to skip the check. */
export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  verify: boolean;
  /** false: the chain is still checked against `ca`, the host name in the certificate is not (mosquitto's --insecure with --cafile). */
  checkHost?: boolean;
}

/** Accepts any host name: the certificate chain is checked all the same. */
const anyHost = (): undefined => undefined;

export interface ReconnectOptions {
  /** Milliseconds between a lost connection and the next attempt. */
  periodMs: number;
  /** Give up after this many attempts in a row that got no CONNACK (`lost` rejects, kind 'unreachable'). Absent: never. */
  maxAttempts?: number;
}

export interface Connection {
  client: MqttClient;
  connack: IConnackPacket;
  /** The broker as errors name it (its URL, or the one behind a relay). */
  brokerName: string;
  /**
   * Rejects with an MqttError when the connection can no longer be used: it dropped
   * before end() (never with reconnect on), our PINGREQ got no PINGRESP (kind 'timeout'),
   * the reconnect budget ran out ('unreachable'), or the broker broke an MQTT rule
   * ('violation', see `violations`). Never resolves.
   */
  lost: Promise<never>;
  /** Our flows in progress, as the wire shows them (ids, QoS, whether PUBREC came). */
  flows: FlowTracker;
  /** Every MQTT rule the broker broke on this connection, in order; the first one also closes it and rejects `lost`. */
  violations: Violation[];
  /**
   * Sends DISCONNECT and closes the socket, within `graceMs` (default 2 s):
   * handshakes in flight get that long to finish, then they are dropped, and a
   * broker that does not close its side is cut off. Never waits longer.
   */
  end(graceMs?: number): Promise<void>;
  /** Resolves when end() is called: a wait of the caller's ends with the connection (Ctrl-C), not on its own timer. */
  ended: Promise<void>;
}

export type PacketListener = (event: PacketEvent) => void;

export const CONNECT_TIMEOUT_MS = 10_000;
/** How long end() lets handshakes in flight finish before it disconnects anyway. */
export const END_GRACE_MS = 2_000;
/** After DISCONNECT, how long the broker gets to close its side before we cut the socket. */
const CLOSE_MS = 500;

/** How mqtt-packet's parser words a packet it cannot read (parser.js). */
const PARSER_ERROR = /^(Invalid|Malformed|Cannot parse|Packet too short|Packet must not|Unknown (property|command)|Not supported)/;

const wireListeners = new WeakMap<MqttClient, Set<PacketListener>>();

/**
 * A listener that keeps nothing. With it, and no onWire() listener, a packet is
 * tracked (flows, violations) but not copied: the copies were 13 % of the
 * bench's CPU (measured, docs/bench.md).
 */
export const IGNORE_PACKETS: PacketListener = () => undefined;

/**
 * Also hear `client`'s packets, as connect()'s listener does: snapshots taken
 * when they crossed, and sends only once they really reached an open socket.
 * Use this, not MQTT.js's packetsend/packetreceive, wherever a packet is shown or counted.
 */
export function onWire(client: MqttClient, listener: PacketListener): () => void {
  const set = wireListeners.get(client) ?? new Set<PacketListener>();
  wireListeners.set(client, set);
  set.add(listener);
  return () => set.delete(listener);
}

/**
 * Connects once. `prepare` runs before CONNECT is written, for listeners that
 * must not miss what follows CONNACK (a resumed session's queued messages).
 */
export function connect(options: ConnectionOptions, onPacket: PacketListener, prepare?: (client: MqttClient) => void): Promise<Connection> {
  const store = options.reconnect ? new DupStore() : undefined;
  const connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  const brokerName = options.brokerName ?? options.url;
  // A Session Expiry Interval exists only in MQTT 5; without one the session ends with the connection.
  const properties = options.protocol === 5 && options.sessionExpiry !== undefined ? { sessionExpiryInterval: options.sessionExpiry } : undefined;
  let socketOpen: () => void = () => undefined;
  const client = mqtt.connect(options.url, {
    manualConnect: true,
    // One attempt: a learner with no broker gets one clear line, not endless retries.
    // (The first attempt stays single with reconnect on too: fail() ends the client.)
    reconnectPeriod: options.reconnect?.periodMs ?? 0,
    ...(store ? { outgoingStore: store } : {}),
    // Ours (below) fires first and says what happened; MQTT.js's is only a backstop.
    connectTimeout: connectTimeoutMs + 1_000,
    clientId: options.clientId,
    clean: options.clean,
    protocolVersion: options.protocol,
    username: options.username,
    password: options.password,
    ...(options.keepalive !== undefined && { keepalive: options.keepalive }),
    ...(properties && { properties }),
    ...(options.will && { will: { ...options.will } }),
    // mqtt-packet otherwise fills a table of 65,536 two-byte buffers before the
    // first packet (~40 ms, measured), a start-up cost a one-message tool never earns back.
    writeCache: false,
    // A WebSocket stream takes writes before the socket is open and has no
    // 'connect' event: ws hands us the socket here, so CONNECT is held until it opens.
    wsOptions: {
      finishRequest: (request, socket) => {
        socket.once('open', () => socketOpen());
        request.end();
      },
      // MQTT.js copies only some TLS options into wsOptions: this one goes in by hand. ws hands it to
      // tls.connect, where undefined means "the name is fine" (ws's types still say boolean).
      ...(options.tls?.checkHost === false && { checkServerIdentity: anyHost as unknown as () => boolean }),
    },
    ...(options.tls && { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key, rejectUnauthorized: options.tls.verify }),
    ...(options.tls?.checkHost === false && { checkServerIdentity: anyHost }),
  } satisfies IClientOptions);

  const flows = new FlowTracker();
  const violations: Violation[] = [];
  // A copy only for a listener that may keep the packet; flows read it at once, as it crossed.
  const kept = <P extends PacketEvent['packet']>(packet: P): P => (onPacket !== IGNORE_PACKETS || wireListeners.has(client) ? snapshot(packet) : packet);
  const deliver = (event: PacketEvent) => {
    onPacket(event);
    for (const listener of wireListeners.get(client) ?? []) listener(event);
  };
  const sent = (event: PacketEvent) => {
    // MQTT.js reports writes into a stream that is ending or gone (acks of PUBLISHes still
    // in the socket buffer after our DISCONNECT): those bytes never left.
    if (!writable(client.stream)) return;
    flows.sent(event.packet);
    deliver(event);
  };

  // MQTT.js reports CONNECT as sent when it is written into a socket still connecting: hold it until
  // the socket (and TLS, or the WebSocket handshake) is up, so a refused connection prints no CONNECT that never left.
  let onWireNow = false;
  const held: PacketEvent[] = [];
  const release = () => {
    onWireNow = true;
    for (const event of held.splice(0)) sent(event);
  };
  socketOpen = release;
  // Each attempt has a new stream: hold its CONNECT until that one is open.
  const holdUntilOpen = () => {
    const stream = client.stream as MqttClient['stream'] & { connecting?: boolean };
    if (stream.connecting) stream.once(stream instanceof TLSSocket ? 'secureConnect' : 'connect', release);
    else if (!/^wss?:/.test(options.url)) release(); // a WebSocket stream is released by finishRequest's 'open'
  };
  client.on('reconnect', () => {
    onWireNow = false;
    held.length = 0;
    queueMicrotask(holdUntilOpen); // after MQTT.js's connect() has built the new stream
  });
  client.on('packetsend', (packet) => {
    const event: PacketEvent = { at: performance.now(), direction: 'send', packet: onWireNow ? kept(packet) : snapshot(packet) };
    if (onWireNow) sent(event);
    else held.push(event);
  });
  if (store) attachDupStore(client, store);

  let ending = false;
  let endCalled: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (endCalled = resolve));
  let lostSettled = false;
  let rejectLost: (error: MqttError) => void = () => undefined;
  const lost = new Promise<never>((_, reject) => {
    rejectLost = (error) => {
      if (lostSettled) return;
      lostSettled = true;
      reject(error);
    };
  });
  lost.catch(() => undefined); // observed by whoever races it; never an unhandled rejection

  const violated = (violation: Violation) => {
    violations.push(violation);
    if (violations.length > 1) return;
    // [MQTT-4.8.0-1] a protocol violation closes the connection; no reconnect after it.
    ending = true;
    rejectLost(new MqttError('violation', `the broker at ${brokerName} broke an MQTT rule: it ${violation.text} [${violation.rule}]`));
    stopClient(client);
  };
  client.on('packetreceive', (packet) => {
    const event: PacketEvent = { at: performance.now(), direction: 'receive', packet: kept(packet) };
    deliver(event);
    const violation = flows.received(event.packet);
    if (violation) violated(violation.packet ? { ...violation, packet: snapshot(violation.packet) } : violation);
  });

  // An MQTT 5 broker says why it hangs up (DISCONNECT with a reason code, e.g. 0x9B QoS not supported).
  let hangUpReason: number | undefined;
  client.on('packetreceive', (packet) => {
    if (packet.cmd === 'disconnect' && packet.reasonCode) hangUpReason = packet.reasonCode;
  });
  // MQTT.js's keepalive gives up 1.5 keepalives after the last packet (a PINGREQ went out at 1):
  // it closes the stream itself, which would otherwise read as the broker closing it.
  let pingTimedOut = false;
  let keepalive = options.keepalive ?? 60;
  client.on('close', () => {
    if (ending) return;
    if (pingTimedOut) {
      pingTimedOut = false;
      if (!options.reconnect) {
        rejectLost(new MqttError('timeout', `no PINGRESP from the broker at ${brokerName} within ${keepalive / 2} s of our PINGREQ (keepalive ${keepalive} s): the connection is taken as dead`));
      }
      return;
    }
    if (options.reconnect) return;
    const why = hangUpReason === undefined ? 'closed the connection' : `disconnected us: ${reasonText(hangUpReason)}`;
    rejectLost(new MqttError('lost', `the broker at ${brokerName} ${why}`));
  });

  // A reconnect budget: against a broker that is gone, give up with one line instead of dialling forever.
  const maxAttempts = options.reconnect?.maxAttempts;
  let attempts = 0;
  let firstAttemptAt = 0;
  client.on('connect', () => (attempts = 0));
  client.on('reconnect', () => {
    if (attempts++ === 0) firstAttemptAt = performance.now();
    if (maxAttempts === undefined || attempts <= maxAttempts || ending) return;
    ending = true;
    const seconds = ((performance.now() - firstAttemptAt) / 1000).toFixed(1);
    rejectLost(new MqttError('unreachable', `gave up reconnecting to the broker at ${brokerName}: ${maxAttempts} attempts in a row in ${seconds} s got no CONNACK`));
    // MQTT.js dials again right after this event: end the stream it is about to build.
    client.options.reconnectPeriod = 0;
    queueMicrotask(() => stopClient(client));
  });

  return new Promise<Connection>((resolve, reject) => {
    const timer = setTimeout(() => {
      const what = onWireNow ? 'accepted the connection but sent no CONNACK' : 'did not accept a connection';
      fail(new MqttError('timeout', `the broker at ${brokerName} ${what} within ${connectTimeoutMs / 1000} s`));
    }, connectTimeoutMs);
    const fail = (error: MqttError) => {
      clearTimeout(timer);
      ending = true;
      stopClient(client);
      reject(error);
    };
    const closedBeforeConnack = () => fail(connectError(options, null));
    client.once('connect', (connack) => {
      clearTimeout(timer);
      client.off('close', closedBeforeConnack); // a later close is `lost`, or a reconnect
      client.removeAllListeners('error');
      // Later errors surface through 'close' → lost; the keepalive's is told apart there.
      client.on('error', (error) => {
        if (error.message === 'Keepalive timeout') {
          pingTimedOut = true;
          keepalive = client.keepalive; // an MQTT 5 broker may have set its own (Server Keep Alive)
        }
        // MQTT.js passes the parser's complaint on and keeps the connection open, stuck: name it and close.
        else if (PARSER_ERROR.test(error.message)) violated(malformed(error));
      });
      resolve({
        client,
        connack: snapshot(connack),
        brokerName,
        lost,
        flows,
        violations,
        end: (graceMs = END_GRACE_MS) => {
          ending = true;
          endCalled();
          return endPolitely(client, graceMs);
        },
        ended,
      });
    });
    client.on('error', (error) => fail(PARSER_ERROR.test(error.message) ? new MqttError('violation', `the broker at ${brokerName} broke an MQTT rule: it ${malformed(error).text} [MQTT-4.8.0-1]`) : connectError(options, error)));
    client.once('close', closedBeforeConnack);
    prepare?.(client);
    client.connect();
    holdUntilOpen();
  });
}

function malformed(error: Error): Violation {
  return { rule: 'MQTT-4.8.0-1', text: `sent bytes that are not a valid MQTT packet (${error.message})` };
}

/**
 * Closes the socket now, for good. With manualConnect, MQTT.js's end() clears its
 * `disconnecting` flag afterwards, and a later close would reconnect: switch that off first.
 */
export function stopClient(client: MqttClient): void {
  client.options.reconnectPeriod = 0;
  // MQTT.js ignores end() while an earlier end() still waits for in-flight messages: cut the stream instead.
  if (client.disconnecting) client.stream.destroy();
  else client.end(true);
}

/** Whether bytes written now can still leave: the stream is neither ending nor gone. */
function writable(stream: MqttClient['stream']): boolean {
  const s = stream as MqttClient['stream'] & { destroyed?: boolean; writableEnded?: boolean; writable?: boolean };
  return !s.destroyed && !s.writableEnded && s.writable !== false;
}

/** Resolves once nothing of ours is in flight (checked after each packet MQTT.js has handled); `stop` detaches it. */
function drained(client: MqttClient): { done: Promise<void>; stop(): void } {
  let check: () => void = () => undefined;
  const stop = () => client.off('packetreceive', check);
  const done = new Promise<void>((resolve) => {
    check = () =>
      setImmediate(() => {
        if (Object.keys(client.outgoing).length > 0) return;
        stop();
        resolve();
      });
    client.on('packetreceive', check);
    check();
  });
  return { done, stop };
}

/**
 * MQTT.js's end(false) waits for every handshake in flight, for ever if the
 * broker never answers: give them `graceMs`, drop what is left, DISCONNECT, and
 * cut the socket if the broker does not close its side.
 */
async function endPolitely(client: MqttClient, graceMs: number): Promise<void> {
  const stream = client.stream;
  client.options.reconnectPeriod = 0; // ending means ending, with reconnect on too
  if (!client.connected || !writable(stream)) {
    stopClient(client);
    return;
  }
  const started = performance.now();
  const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  if (Object.keys(client.outgoing).length > 0) {
    const drain = drained(client);
    await within(Promise.race([drain.done, closed]), graceMs);
    drain.stop();
  }
  // Their callbacks fail ('Message removed'), so nothing waits on them after this.
  for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
  client.end(false);
  const left = Math.max(CLOSE_MS, graceMs - (performance.now() - started));
  if ((await within(closed, left)) === null) stream.destroy();
}

/** Turns what MQTT.js reports while connecting into what happened, and what the user could change (the remedy). */
function connectError(options: ConnectionOptions, error: (Error & { code?: string | number }) | null): MqttError {
  const where = `the broker at ${options.brokerName ?? options.url}`;
  if (error === null) {
    const version = options.protocol === 5 ? '5' : '3.1.1';
    const tlsHint = /^(mqtts|wss):/.test(options.url) ? '' : ', or is it a TLS port that needs mqtts://';
    return new MqttError('unreachable', `${where} closed the connection before accepting it (does it speak MQTT ${version}${tlsHint}?)`);
  }
  const code = error.code;
  if (typeof code === 'number') {
    const older = options.protocol === 5 && (code === 1 || code === 0x84);
    return new MqttError('refused', `${where} refused the connection: ${connackText(code, options.protocol === 5)}`, older ? 'older-protocol' : undefined);
  }
  const tls = /^(mqtts|wss):/.test(options.url);
  // The broker ended the handshake with a TLS alert (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, ...): name the alert.
  const alert = typeof code === 'string' ? /^ERR_SSL_\w*?_ALERT_(\w+)$/.exec(code)?.[1] : undefined;
  if (alert !== undefined) {
    const remedy = alert === 'CERTIFICATE_REQUIRED' ? 'client-cert' : undefined;
    return new MqttError('unreachable', `${where} refused our TLS handshake (alert: ${alert.toLowerCase().replace(/_/g, ' ')})`, remedy);
  }
  // A CA we trust signed it, for another name: passing a CA would not help.
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new MqttError('unreachable', `${where} presented a TLS certificate for another name (${error.message})`, 'host-name');
  }
  // Node's certificate verification codes: DEPTH_ZERO_SELF_SIGNED_CERT, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...
  if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_/.test(code)) {
    return new MqttError('unreachable', `${where} presented a TLS certificate we cannot trust (${error.message})`, 'trust-ca');
  }
  switch (code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return tls
        ? new MqttError('unreachable', `${where} dropped the TLS handshake`, 'tls-port-or-cert')
        : new MqttError('unreachable', `${where} reset the connection: is that port a TLS listener? Then use mqtts://`);
    case 'ECONNREFUSED':
      return new MqttError('unreachable', `cannot reach ${where}: connection refused`, 'start-broker');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new MqttError('unreachable', `cannot reach ${where}: unknown host`, 'check-host');
    default:
      return new MqttError('unreachable', `cannot reach ${where}: ${error.message}`, 'start-broker');
  }
}
