// The one place a client is made. Packet listeners are attached before
// CONNECT is written (MQTT.js writes it inside connect(), so a listener added
// later misses CONNECT, CONNACK and anything queued for a resumed session).
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IConnackPacket } from 'mqtt-packet';
import { performance } from 'node:perf_hooks';
import { CliError, EXIT } from '../cli/errors';
import { attachDupStore, DupStore } from './dup-store';
import type { PacketEvent } from './packet-event';
import { connackReason } from './reason-codes';

/** MQTT.js's protocolVersion: 4 is MQTT 3.1.1, 5 is MQTT 5. */
export type ProtocolVersion = 4 | 5;

export interface ConnectionOptions {
  url: string;
  clientId: string;
  clean: boolean;
  protocol: ProtocolVersion;
  username?: string;
  password?: string;
  /**
   * Opt in to reconnecting after a lost connection (the fault lab): same client
   * id, and in-flight QoS 1/2 messages resent with DUP=1. Without it: one attempt.
   */
  reconnect?: ReconnectOptions;
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
  } satisfies IClientOptions);

  client.on('packetsend', (packet) => onPacket({ at: performance.now(), direction: 'send', packet }));
  client.on('packetreceive', (packet) => onPacket({ at: performance.now(), direction: 'receive', packet }));
  if (store) attachDupStore(client, store);

  let ending = false;
  const lost = new Promise<never>((_, reject) => {
    client.on('close', () => {
      if (!ending && !options.reconnect) reject(new CliError(`the broker at ${options.url} closed the connection`, EXIT.protocol));
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
  });
}

/** Turns what MQTT.js reports while connecting into one line a learner can act on. */
function connectError(options: ConnectionOptions, error: (Error & { code?: string | number }) | null): CliError {
  const where = `the broker at ${options.url}`;
  const fix = `start one with 'npm run broker', or point --broker at a running broker`;
  if (error === null) {
    const version = options.protocol === 5 ? '5' : '3.1.1';
    return new CliError(`${where} closed the connection before accepting it (does it speak MQTT ${version}?)`, EXIT.connect);
  }
  const code = error.code;
  if (typeof code === 'number') {
    const hint = options.protocol === 5 && (code === 1 || code === 0x84) ? ': it does not speak MQTT 5, try --protocol 3.1.1' : '';
    return new CliError(`${where} refused the connection: ${connackReason(code, options.protocol === 5)} (code ${code})${hint}`, EXIT.refused);
  }
  switch (code) {
    case 'ECONNREFUSED':
      return new CliError(`cannot reach ${where}: connection refused; ${fix}`, EXIT.connect);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CliError(`cannot reach ${where}: unknown host; check --broker`, EXIT.connect);
    default:
      return new CliError(`cannot reach ${where}: ${error.message}; ${fix}`, EXIT.connect);
  }
}
