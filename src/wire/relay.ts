// A loopback TCP proxy between one client and its broker that forwards bytes
// unchanged, reads every packet both ways, and cuts the connection at a named
// point of a flow (or on a seeded random timer). What it logs is what crossed it.
import { createConnection, createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { listen, type Address } from '../broker/listen';
import type { BrokerPacketEvent } from '../mqtt/packet-event';
import type { FaultSpec } from './fault-spec';
import { framer } from './framer';
import { randomInts } from './prng';

/** A packet seen on one proxied connection; direction is the broker's ('receive' = client to broker). */
export interface ProxyPacketEvent extends BrokerPacketEvent {
  /** Which connection through the proxy, counting from 1. */
  link: number;
  /** True for the packet the fault swallowed: it never reached the other side. */
  dropped: boolean;
}

export interface ProxyCutEvent {
  at: number;
  link: number;
  clientId: string;
  /** `before puback`, or `timer after 312 ms`. */
  reason: string;
}

export interface ProxyOptions {
  /** The broker, as host and port (loopback). */
  target: Address;
  fault?: FaultSpec;
  onPacket?: (event: ProxyPacketEvent) => void;
  onCut?: (event: ProxyCutEvent) => void;
}

export interface FaultProxy {
  /** Where clients connect instead of the broker. */
  url: string;
  port: number;
  /** Connections cut so far. */
  cuts(): number;
  /** Connections the broker closed itself (not cut by us, not ended by the client). */
  brokerClosed(): number;
  /** Malformed packets the broker sent (each one cut its connection). */
  brokerMalformed(): number;
  /** Starts (or restarts) a fault now, including on connections already open. */
  arm(fault: FaultSpec): void;
  /** Stops cutting (open connections stay up, new ones are not cut): lets a run drain. */
  calm(): void;
  close(): Promise<void>;
}

interface Link {
  cut(reason: string): void;
  close(): void;
  timer?: NodeJS.Timeout;
}

export async function startProxy(options: ProxyOptions): Promise<FaultProxy> {
  let fault = options.fault;
  let cuts = 0;
  let brokerClosed = 0;
  let brokerMalformed = 0;
  let links = 0;
  let nextDelay = delays(fault);
  const open = new Set<Link>();
  const schedule = (entry: Link) => {
    if (!nextDelay) return;
    const delay = nextDelay();
    entry.timer = setTimeout(() => entry.cut(`timer after ${delay} ms`), delay);
  };

  const server = createServer((client) => {
    const link = ++links;
    const broker = createConnection(options.target);
    let clientId = '?';
    let cut = false;
    const entry: Link = {
      cut: (reason) => {
        if (cut) return;
        cut = true;
        cuts++;
        options.onCut?.({ at: performance.now(), link, clientId, reason });
        entry.close();
      },
      close: () => {
        clearTimeout(entry.timer);
        open.delete(entry);
        client.destroy();
        broker.destroy();
      },
    };
    open.add(entry);
    let clientGone = false;
    const said = { disconnect: false };
    // A client that ends its side (FIN) closed the connection, even if the broker's close is seen first.
    client.on('end', () => (clientGone = true));
    client.on('close', () => {
      clientGone = true;
      entry.close();
    });
    broker.on('close', () => {
      if (!cut && !clientGone && !said.disconnect && open.has(entry)) brokerClosed++;
      entry.close();
    });
    client.on('error', () => undefined);
    broker.on('error', () => undefined);

    schedule(entry);

    const up = mqttPacket.parser();
    const down = mqttPacket.parser();
    up.on('error', () => undefined);
    down.on('error', () => undefined);
    const relay = (from: Socket, to: Socket, parser: ReturnType<typeof mqttPacket.parser>, direction: 'receive' | 'send') => {
      const split = framer();
      let parsed: Packet | null = null;
      parser.on('packet', (packet: Packet) => (parsed = packet));
      from.on('data', (chunk: Buffer) => {
        let frames: Buffer[];
        try {
          frames = split(chunk);
        } catch {
          if (direction === 'send') brokerMalformed++;
          return entry.cut(`malformed packet from the ${direction === 'send' ? 'broker' : 'client'}`);
        }
        for (const frame of frames) {
          if (cut) return;
          parsed = null;
          parser.parse(frame); // a whole frame: 'packet' fires synchronously
          const packet = parsed as Packet | null;
          if (packet?.cmd === 'disconnect' && direction === 'receive') said.disconnect = true;
          if (packet?.cmd === 'connect') {
            clientId = packet.clientId || '(empty id)';
            // The broker answers in the client's protocol version.
            (down as unknown as { settings: { protocolVersion?: number } }).settings = { protocolVersion: packet.protocolVersion };
          }
          const drop = packet !== null && fault?.kind === 'before' && packet.cmd === fault.packet;
          if (packet) options.onPacket?.({ at: performance.now(), direction, clientId, packet, link, dropped: drop });
          if (drop && fault?.kind === 'before') {
            const point = fault.packet;
            fault = undefined; // once: the reconnect must be allowed to finish the flow
            return entry.cut(`before ${point}`);
          }
          to.write(frame);
        }
      });
    };
    relay(client, broker, up, 'receive');
    relay(broker, client, down, 'send');
  });

  const { port, url } = await listen(server, '127.0.0.1', 0);
  return {
    url,
    port,
    cuts: () => cuts,
    brokerClosed: () => brokerClosed,
    brokerMalformed: () => brokerMalformed,
    arm: (spec) => {
      fault = spec;
      nextDelay = delays(spec);
      for (const entry of open) {
        clearTimeout(entry.timer);
        schedule(entry);
      }
    },
    calm: () => {
      fault = undefined;
      nextDelay = null;
      for (const entry of open) clearTimeout(entry.timer);
    },
    close: async () => {
      fault = undefined;
      nextDelay = null;
      for (const entry of [...open]) entry.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The cut delays of an every-N-ms fault, from its seed; null for the other faults. */
function delays(fault: FaultSpec | undefined): (() => number) | null {
  return fault?.kind === 'every' ? randomInts(fault.seed, fault.minMs, fault.maxMs) : null;
}
