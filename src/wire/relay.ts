// The one relay: a loopback TCP proxy between clients and their broker that
// forwards every packet unchanged, reads every packet both ways, and, given a
// fault, cuts a connection at a named point of a flow (or on a seeded random
// timer). Without a fault it is the tap in front of a broker we cannot
// instrument (mosquitto). What it reports is what crossed it.
import { createConnection, createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { listen, type Address, type Endpoint } from '../broker/listen';
import type { BrokerPacketEvent } from '../mqtt/packet-event';
import { randomInts } from './prng';
import type { FaultSpec } from './fault';
import { connectionReader, type DirectionReader } from './reader';

/** A packet seen on one relayed connection; direction is the broker's ('receive' = client to broker). */
export interface RelayPacketEvent extends BrokerPacketEvent {
  /** Which connection through the relay, counting from 1. */
  connection: number;
  /** True for the packet the fault swallowed: it never reached the other side. */
  dropped: boolean;
}

export interface RelayCutEvent {
  at: number;
  connection: number;
  clientId: string;
  /** `before puback`, or `timer after 312 ms`. */
  reason: string;
}

export interface RelayOptions {
  /** Where clients connect: 127.0.0.1 unless told (loopback only). */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The broker, as host and port (loopback). */
  upstream: Address;
  /** None: forward everything (a tap). */
  fault?: FaultSpec;
  /** Cut a connection at a malformed packet (counted as brokerMalformed when the broker sent it); otherwise its bytes and all after them go on unread. */
  cutMalformed?: boolean;
  onPacket?: (event: RelayPacketEvent) => void;
  onCut?: (event: RelayCutEvent) => void;
}

export interface Relay extends Endpoint {
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
}

interface Connection {
  cut(reason: string): void;
  close(): void;
  timer?: NodeJS.Timeout;
}

export async function startRelay(options: RelayOptions): Promise<Relay> {
  const host = options.host ?? '127.0.0.1';
  let fault = options.fault;
  let cuts = 0;
  let brokerClosed = 0;
  let brokerMalformed = 0;
  let connections = 0;
  let nextDelay = delays(fault);
  const open = new Set<Connection>();
  const schedule = (entry: Connection) => {
    if (!nextDelay) return;
    const delay = nextDelay();
    entry.timer = setTimeout(() => entry.cut(`timer after ${delay} ms`), delay);
  };

  const server = createServer((client) => {
    const connection = ++connections;
    const broker = createConnection(options.upstream);
    // Each packet goes out at once, as from the embedded broker: Nagle would hold a small write ~40 ms, which timings would show as QoS cost.
    client.setNoDelay(true);
    broker.setNoDelay(true);
    const reader = connectionReader();
    let cut = false;
    const entry: Connection = {
      cut: (reason) => {
        if (cut) return;
        cut = true;
        cuts++;
        options.onCut?.({ at: performance.now(), connection, clientId: reader.clientId(), reason });
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
    // A reset on one side just ends the pair; the relay never crashes the process.
    client.on('error', () => undefined);
    broker.on('error', () => undefined);

    schedule(entry);

    const forward = (from: Socket, to: Socket, read: DirectionReader, direction: 'receive' | 'send') => {
      let draining = false;
      const send = (bytes: Buffer) => {
        // Backpressure: a slow reader on one side slows the other side's sender, nothing piles up here.
        if (!to.write(bytes) && !draining) {
          draining = true;
          from.pause();
          to.once('drain', () => {
            draining = false;
            from.resume();
          });
        }
      };
      from.on('data', (chunk: Buffer) => {
        const { reads, unread } = read(chunk);
        if (unread && options.cutMalformed) {
          // As the fault proxy always did: the whole chunk goes, not only the malformed packet (chaos counts on it).
          if (direction === 'send') brokerMalformed++;
          return entry.cut(`malformed packet from the ${direction === 'send' ? 'broker' : 'client'}`);
        }
        for (const { frame, packet } of reads) {
          if (cut) return;
          if (packet?.cmd === 'disconnect' && direction === 'receive') said.disconnect = true;
          const drop = packet !== null && fault?.kind === 'before' && packet.cmd === fault.packet;
          if (packet) options.onPacket?.({ at: performance.now(), direction, clientId: reader.clientId(), packet, connection, dropped: drop });
          if (drop && fault?.kind === 'before') {
            const point = fault.packet;
            fault = undefined; // once: the reconnect must be allowed to finish the flow
            return entry.cut(`before ${point}`);
          }
          send(frame);
        }
        if (unread && !cut) send(unread);
      });
    };
    forward(client, broker, reader.receive, 'receive');
    forward(broker, client, reader.send, 'send');
  });

  const { port, url } = await listen(server, host, options.port ?? 0);
  return {
    host,
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

/** An mqtt:// URL as the host and port the relay dials (an IPv6 literal loses its brackets). */
export function upstreamOf(url: string): Address {
  const target = new URL(url);
  return { host: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port || 1883) };
}
