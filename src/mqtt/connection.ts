// The one place a client is made. Packet listeners are attached before
// CONNECT is written (MQTT.js writes it inside connect(), so a listener added
// later misses CONNECT, CONNACK and anything queued for a resumed session).
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IConnackPacket } from 'mqtt-packet';
import { performance } from 'node:perf_hooks';
import { TLSSocket } from 'node:tls';
import { CliError, EXIT } from '../cli/errors';
import { attachDupStore, DupStore } from './dup-store';
import type { PacketEvent } from './packet-event';
import { connackText, reasonText } from './reason-codes';

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
}

/** PEM texts as read from --ca/--cert/--key; `verify` false only with --insecure. */
export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  verify: boolean;
}

export interface ReconnectOptions {
  /** Milliseconds between a lost connection and the next attempt. */
  periodMs: number;
}

export interface Connection {
  client: MqttClient;
  connack: IConnackPacket;
  /** Rejects with a CliError if the connection drops before end() is called (never with reconnect on); never resolves. */
  lost: Promise<never>;
  /** Sends DISCONNECT and closes the socket. */
  end(): Promise<void>;
}

export type PacketListener = (event: PacketEvent) => void;

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects once. `prepare` runs before CONNECT is written, for listeners that
 * must not miss what follows CONNACK (a resumed session's queued messages).
 */
export function connect(options: ConnectionOptions, onPacket: PacketListener, prepare?: (client: MqttClient) => void): Promise<Connection> {
  const store = options.reconnect ? new DupStore() : undefined;
  const client = mqtt.connect(options.url, {
    manualConnect: true,
    // One attempt: a learner with no broker gets one clear line, not endless retries.
    // (The first attempt stays single with reconnect on too: fail() ends the client.)
    reconnectPeriod: options.reconnect?.periodMs ?? 0,
    ...(store ? { outgoingStore: store } : {}),
    connectTimeout: CONNECT_TIMEOUT_MS,
    clientId: options.clientId,
    clean: options.clean,
    protocolVersion: options.protocol,
    username: options.username,
    password: options.password,
    // mqtt-packet otherwise fills a table of 65,536 two-byte buffers before the
    // first packet (~40 ms, measured), a start-up cost a one-message tool never earns back.
    writeCache: false,
    ...(options.tls && { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key, rejectUnauthorized: options.tls.verify }),
  } satisfies IClientOptions);

  // MQTT.js reports CONNECT as sent when it is written into a socket still connecting: hold it until
  // the socket (and TLS) is up, so a refused connection or a failed handshake prints no CONNECT that never left.
  let onWire = false;
  const held: PacketEvent[] = [];
  const release = () => {
    onWire = true;
    for (const event of held.splice(0)) onPacket(event);
  };
  client.on('packetsend', (packet) => {
    const event: PacketEvent = { at: performance.now(), direction: 'send', packet };
    if (onWire) onPacket(event);
    else held.push(event);
  });
  client.on('packetreceive', (packet) => onPacket({ at: performance.now(), direction: 'receive', packet }));
  if (store) attachDupStore(client, store);

  let ending = false;
  // An MQTT 5 broker says why it hangs up (DISCONNECT with a reason code, e.g. 0x9B QoS not supported).
  let hangUpReason: number | undefined;
  client.on('packetreceive', (packet) => {
    if (packet.cmd === 'disconnect' && packet.reasonCode) hangUpReason = packet.reasonCode;
  });
  const lost = new Promise<never>((_, reject) => {
    client.on('close', () => {
      if (ending || options.reconnect) return;
      const why = hangUpReason === undefined ? 'closed the connection' : `disconnected us: ${reasonText(hangUpReason)}`;
      reject(new CliError(`the broker at ${options.url} ${why}`, EXIT.protocol));
    });
  });
  lost.catch(() => undefined); // observed by whoever races it; never an unhandled rejection

  return new Promise<Connection>((resolve, reject) => {
    const fail = (error: CliError) => {
      ending = true;
      client.end(true);
      reject(error);
    };
    const closedBeforeConnack = () => fail(connectError(options, null));
    client.once('connect', (connack) => {
      client.off('close', closedBeforeConnack); // a later close is `lost`, or a reconnect
      client.removeAllListeners('error');
      client.on('error', () => undefined); // later errors surface through 'close' → lost
      resolve({
        client,
        connack,
        lost,
        end: () =>
          new Promise<void>((done) => {
            ending = true;
            client.end(false, {}, () => done());
          }),
      });
    });
    client.on('error', (error) => fail(connectError(options, error)));
    client.once('close', closedBeforeConnack);
    prepare?.(client);
    client.connect();
    const stream = client.stream as MqttClient['stream'] & { connecting?: boolean };
    if (stream.connecting) stream.once(stream instanceof TLSSocket ? 'secureConnect' : 'connect', release);
    else release(); // a WebSocket stream has no 'connecting': it reports packets as before
  });
}

/** Turns what MQTT.js reports while connecting into one line a learner can act on. */
function connectError(options: ConnectionOptions, error: (Error & { code?: string | number }) | null): CliError {
  const where = `the broker at ${options.url}`;
  const fix = `start one with 'npm run broker', or point --broker at a running broker`;
  if (error === null) {
    const version = options.protocol === 5 ? '5' : '3.1.1';
    const tlsHint = /^(mqtts|wss):/.test(options.url) ? '' : ', or is it a TLS port that needs mqtts://';
    return new CliError(`${where} closed the connection before accepting it (does it speak MQTT ${version}${tlsHint}?)`, EXIT.connect);
  }
  const code = error.code;
  if (typeof code === 'number') {
    const hint = options.protocol === 5 && (code === 1 || code === 0x84) ? ': it does not speak MQTT 5, try --protocol 3.1.1' : '';
    return new CliError(`${where} refused the connection: ${connackText(code, options.protocol === 5)}${hint}`, EXIT.refused);
  }
  const tls = /^(mqtts|wss):/.test(options.url);
  // The broker ended the handshake with a TLS alert (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, ...): name the alert.
  const alert = typeof code === 'string' ? /^ERR_SSL_\w*?_ALERT_(\w+)$/.exec(code)?.[1] : undefined;
  if (alert !== undefined) {
    const hint = alert === 'CERTIFICATE_REQUIRED' ? ': it wants a client certificate, pass --cert and --key' : '';
    return new CliError(`${where} refused our TLS handshake (alert: ${alert.toLowerCase().replace(/_/g, ' ')})${hint}`, EXIT.connect);
  }
  // Node's certificate verification codes: DEPTH_ZERO_SELF_SIGNED_CERT, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID, ...
  if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_/.test(code)) {
    return new CliError(`${where} presented a TLS certificate we cannot trust (${error.message}); pass the CA that signed it with --ca, or --insecure to skip the check`, EXIT.connect);
  }
  switch (code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return new CliError(
        tls
          ? `${where} dropped the TLS handshake: is that port a TLS listener? (a plain one needs mqtt://), or does it want a client certificate (--cert, --key)?`
          : `${where} reset the connection: is that port a TLS listener? Then use mqtts://`,
        EXIT.connect,
      );
    case 'ECONNREFUSED':
      return new CliError(`cannot reach ${where}: connection refused; ${fix}`, EXIT.connect);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CliError(`cannot reach ${where}: unknown host; check --broker`, EXIT.connect);
    default:
      return new CliError(`cannot reach ${where}: ${error.message}; ${fix}`, EXIT.connect);
  }
}
