// What both tools do around their own work: connect with packet logging, run,
// disconnect; Ctrl-C or SIGTERM at any point ends politely, within a bound,
// with EXIT.interrupted or EXIT.terminated.
import type { MqttClient } from 'mqtt';
import { connect, END_GRACE_MS, stopClient, type Connection, type ConnectionOptions } from '../mqtt/connection';
import { EXIT } from './errors';
import { processIo, type Io } from './io';
import type { Leg, PacketEvent } from '../mqtt/packet-event';
import { describeResumed } from './notes';
import type { CommonOptions } from './options';
import { makePrinter, tracedPrinter, type Printer } from './printer';
import { takesStdout } from './output-file';
import { publicBrokerNote } from './options/broker-url';
import { interrupted, isSignal, SIGNAL_EXIT } from './signals';

async function withConnection(
  options: ConnectionOptions,
  printer: Printer,
  work: (conn: Connection) => Promise<void>,
  prepare?: (client: MqttClient) => void,
): Promise<number> {
  const stop = interrupted();
  let conn: Connection | undefined;
  const onPacket = (event: PacketEvent) => {
    printer.packet(event);
    if (event.direction === 'receive' && event.packet.cmd === 'connack' && event.packet.sessionPresent) printer.note(describeResumed(options.clientId));
  };
  try {
    let client: MqttClient | undefined;
    const connecting = connect(options, onPacket, (c) => {
      client = c;
      prepare?.(c);
    });
    const first = await Promise.race([connecting, stop.promise]);
    if (isSignal(first)) {
      // Close the socket now: left alone, a silent broker would hold the process until the connect timeout.
      connecting.catch(() => undefined);
      if (client) stopClient(client);
      return SIGNAL_EXIT[first];
    }
    conn = first;
    const outcome = await Promise.race([work(conn), stop.promise]);
    if (isSignal(outcome)) {
      const inFlight = Object.keys(conn.client.outgoing).length;
      // The first signal's listener is gone now: a second one takes Node's default and quits at once.
      if (inFlight > 0) {
        printer.note(`${outcome === 'SIGINT' ? 'interrupted' : 'terminated'}: finishing ${inFlight} handshake(s) in flight for at most ${END_GRACE_MS / 1000} s, then disconnecting (${outcome === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again quits at once)`);
      }
      await conn.end();
      return SIGNAL_EXIT[outcome];
    }
    await conn.end();
    return EXIT.ok;
  } catch (error) {
    // Still usable (a refused subscription, a timeout): say goodbye with DISCONNECT, without waiting for
    // handshakes that already ran out of time. After a broken rule or a lost connection there is no one to tell.
    if (conn?.client.connected && conn.violations.length === 0) await conn.end(0);
    else if (conn) stopClient(conn.client);
    throw error;
  } finally {
    stop.dispose();
  }
}

/** What a tool does once connected; `prepare` runs before CONNECT. */
export interface Tool {
  work(conn: Connection): Promise<void>;
  prepare?(client: MqttClient): void;
}

/**
 * Everything around a tool's own work, in one place for both tools: the
 * printer (and --trace file), the --fault proxy, the connection, Ctrl-C.
 */
export async function runTool(options: CommonOptions, role: Leg, build: (printer: Printer) => Tool, io: Io = processIo()): Promise<number> {
  const publicNote = publicBrokerNote(options.connection.url);
  if (publicNote) io.err.write(`${publicNote}\n`);
  // `--trace -`: stdout carries the trace alone; packet lines, notes and payloads go to stderr.
  const shown = takesStdout(options.output.trace?.path) ? { ...io, out: io.err } : io;
  const traced = tracedPrinter(makePrinter(options.output, shown), options.output.trace, role, options.connection.protocol, io.out);
  const { printer } = traced;
  const tool = build(printer);
  const fault = options.fault ? await faultLink().startFaultLink(options.connection, options.fault, printer.note) : undefined;
  try {
    return await withConnection(fault?.connection ?? options.connection, printer, (conn) => tool.work(conn), (client) => {
      fault?.prepare(client);
      tool.prepare?.(client);
    });
  } finally {
    await fault?.close();
    traced.close();
  }
}

/**
 * The fault proxy is loaded only when --fault asks for it: the lesson path
 * (ts-node compiles each file it loads) should not pay for modules it never uses.
 * require(), not import(): under ts-node a dynamic import() of a .ts file fails.
 */
function faultLink(): typeof import('../wire/fault-link') {
  return require('../wire/fault-link') as typeof import('../wire/fault-link');
}
