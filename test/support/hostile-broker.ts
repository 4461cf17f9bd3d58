// A broker that misbehaves on purpose, for tests: a small MQTT server on a
// free loopback port that answers correctly by default (CONNACK, PUBACK /
// PUBREC / PUBCOMP, SUBACK with what was asked, PINGRESP, forwarding to
// matching subscribers) and lets a test replace any answer. Every packet it
// receives is recorded per connection, straight from the bytes (mqtt-packet).
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import mqttPacket, { type Packet } from 'mqtt-packet';

export interface HostileConnection {
  /** Connection number, counting from 1. */
  index: number;
  clientId: string;
  protocolVersion: number;
  /** Every packet this connection sent us, in order. */
  received: Packet[];
  send(packet: Packet): void;
  /** Writes bytes as they are: for malformed or oversized packets. */
  sendRaw(bytes: Buffer): void;
  /** Closes the socket (FIN), or destroys it (RST-like) with `hard`. */
  close(hard?: boolean): void;
}

/**
 * Replaces the broker's answer to one packet type: return true when the packet
 * was handled (answered, or ignored on purpose), false to fall back to the
 * default answer.
 */
export type Override = (packet: Packet, conn: HostileConnection, broker: HostileBroker) => boolean;

export interface HostileOptions {
  /** Keyed by the packet type received: connect, publish, pubrel, subscribe, pingreq, ... */
  on?: Partial<Record<Packet['cmd'], Override>>;
}

export interface HostileBroker {
  url: string;
  port: number;
  connections: HostileConnection[];
  /** Resolves with the first connection that has received a packet of `cmd` (now or later). */
  waitFor(cmd: Packet['cmd']): Promise<HostileConnection>;
  close(): Promise<void>;
}

/** Ready-made misbehaviours, one per way a broker can fail a client. */
export const HOSTILE = {
  /** Accepts the TCP connection and never answers CONNECT. */
  neverConnack: { on: { connect: () => true } },
  /** CONNACK, then never an acknowledgement for any PUBLISH. */
  neverAck: { on: { publish: () => true } },
  /** Acknowledges each PUBLISH with an id the client never used. */
  ackUnknownId: {
    on: {
      publish: (p: Packet, c: HostileConnection) => {
        if (p.cmd !== 'publish' || p.qos === 0) return false;
        const messageId = ((p.messageId ?? 0) + 1000) % 65535 || 1;
        c.send({ cmd: p.qos === 1 ? 'puback' : 'pubrec', messageId } as Packet);
        return true;
      },
    },
  },
  /** Answers QoS 2 with PUBACK and QoS 1 with PUBCOMP: the wrong acknowledgement type. */
  wrongAck: {
    on: {
      publish: (p: Packet, c: HostileConnection) => {
        if (p.cmd !== 'publish' || p.qos === 0) return false;
        c.send({ cmd: p.qos === 2 ? 'puback' : 'pubcomp', messageId: p.messageId } as Packet);
        return true;
      },
    },
  },
  /** PUBREC for QoS 2, then never a PUBCOMP for the PUBREL. */
  neverPubcomp: { on: { pubrel: () => true } },
  /** Never answers SUBSCRIBE. */
  neverSuback: { on: { subscribe: () => true } },
  /** Never answers PINGREQ. */
  noPingresp: { on: { pingreq: () => true } },
  /** CONNACK, then closes the connection at once. */
  closeAfterConnack: {
    on: {
      connect: (_p: Packet, c: HostileConnection) => {
        c.send(connackFor(c));
        c.close();
        return true;
      },
    },
  },
  /** CONNACK, then a packet whose remaining length is malformed (five continuation bytes). */
  malformedAfterConnack: {
    on: {
      connect: (_p: Packet, c: HostileConnection) => {
        c.send(connackFor(c));
        c.sendRaw(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]));
        return true;
      },
    },
  },
  /** CONNACK, then the header of a PUBLISH announcing 268,435,455 bytes (the MQTT maximum), and nothing more. */
  oversizedAfterConnack: {
    on: {
      connect: (_p: Packet, c: HostileConnection) => {
        c.send(connackFor(c));
        c.sendRaw(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
        return true;
      },
    },
  },
} satisfies Record<string, HostileOptions>;

export function connackFor(conn: HostileConnection, code = 0): Packet {
  return conn.protocolVersion === 5
    ? ({ cmd: 'connack', sessionPresent: false, reasonCode: code } as Packet)
    : ({ cmd: 'connack', sessionPresent: false, returnCode: code } as Packet);
}

/** Starts a hostile broker on 127.0.0.1:0, closed when the test ends. */
export async function hostileBroker(t: TestContext | null, options: HostileOptions = {}): Promise<HostileBroker> {
  const connections: HostileConnection[] = [];
  const sockets = new Set<Socket>();
  const subscriptions = new Map<HostileConnection, { filter: string; qos: number }[]>();
  const waiters: { cmd: Packet['cmd']; resolve: (c: HostileConnection) => void }[] = [];
  let nextId = 1;

  const broker: HostileBroker = {
    url: '',
    port: 0,
    connections,
    waitFor: (cmd) =>
      new Promise((resolve) => {
        const found = connections.find((c) => c.received.some((p) => p.cmd === cmd));
        if (found) resolve(found);
        else waiters.push({ cmd, resolve });
      }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      subscriptions.delete(conn);
    });
    socket.on('error', () => undefined);
    const parser = mqttPacket.parser();
    const conn: HostileConnection = {
      index: connections.length + 1,
      clientId: '?',
      protocolVersion: 4,
      received: [],
      send: (packet) => {
        if (!socket.destroyed) socket.write(mqttPacket.generate(packet, { protocolVersion: conn.protocolVersion }));
      },
      sendRaw: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      close: (hard = false) => (hard ? socket.destroy() : socket.end()),
    };
    connections.push(conn);
    parser.on('error', () => socket.destroy());
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd === 'connect') {
        conn.clientId = packet.clientId;
        conn.protocolVersion = packet.protocolVersion ?? 4;
        (parser as unknown as { settings: { protocolVersion?: number } }).settings = { protocolVersion: conn.protocolVersion };
      }
      conn.received.push(packet);
      for (const w of waiters.filter((w) => w.cmd === packet.cmd)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(conn);
      }
      const override = options.on?.[packet.cmd];
      if (override?.(packet, conn, broker)) return;
      answer(packet, conn);
    });
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  });

  function answer(packet: Packet, conn: HostileConnection): void {
    switch (packet.cmd) {
      case 'connect':
        conn.send(connackFor(conn));
        break;
      case 'publish':
        if (packet.qos === 1) conn.send({ cmd: 'puback', messageId: packet.messageId } as Packet);
        if (packet.qos === 2) conn.send({ cmd: 'pubrec', messageId: packet.messageId } as Packet);
        forward(packet);
        break;
      case 'pubrel':
        conn.send({ cmd: 'pubcomp', messageId: packet.messageId } as Packet);
        break;
      case 'pubrec':
        conn.send({ cmd: 'pubrel', messageId: packet.messageId } as Packet);
        break;
      case 'subscribe':
        subscriptions.set(conn, [...(subscriptions.get(conn) ?? []), ...packet.subscriptions.map((s) => ({ filter: s.topic, qos: s.qos }))]);
        conn.send({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map((s) => s.qos) } as Packet);
        break;
      case 'unsubscribe':
        conn.send({ cmd: 'unsuback', messageId: packet.messageId } as Packet);
        break;
      case 'pingreq':
        conn.send({ cmd: 'pingresp' } as Packet);
        break;
      case 'disconnect':
        conn.close();
        break;
      default:
        break;
    }
  }

  /** Sends a PUBLISH on to every matching subscriber at MIN(publish QoS, subscription QoS). */
  function forward(packet: Packet): void {
    if (packet.cmd !== 'publish') return;
    for (const [conn, subs] of subscriptions) {
      const sub = subs.find((s) => topicMatches(s.filter, packet.topic));
      if (!sub) continue;
      const qos = Math.min(packet.qos, sub.qos) as 0 | 1 | 2;
      const messageId = qos === 0 ? undefined : nextId++ % 65535 || nextId++;
      conn.send({ cmd: 'publish', topic: packet.topic, payload: packet.payload, qos, dup: false, retain: false, ...(messageId && { messageId }) } as Packet);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  broker.port = (server.address() as AddressInfo).port;
  broker.url = `mqtt://127.0.0.1:${broker.port}`;
  t?.after(() => broker.close());
  return broker;
}

/** MQTT topic filter matching: `+` one level, `#` the rest. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
