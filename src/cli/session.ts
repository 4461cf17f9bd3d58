// What both tools do around their own work: connect with packet logging, run,
// disconnect; Ctrl-C at any point ends politely with EXIT.interrupted.
import type { MqttClient } from 'mqtt';
import { connect, type Connection, type ConnectionOptions } from '../mqtt/connection';
import { EXIT } from './errors';
import type { Link } from '../mqtt/packet-event';
import type { CommonOptions } from './options';
import { makePrinter, tracedPrinter, type Printer } from './printer';
import { INTERRUPTED, interrupted } from './signals';

async function withConnection(
  options: ConnectionOptions,
  printer: Printer,
  work: (conn: Connection) => Promise<void>,
  prepare?: (client: MqttClient) => void,
): Promise<number> {
  const stop = interrupted();
  let conn: Connection | undefined;
  try {
    let client: MqttClient | undefined;
    const connecting = connect(options, printer.packet, (c) => {
      client = c;
      prepare?.(c);
    });
    const first = await Promise.race([connecting, stop.promise]);
    if (first === INTERRUPTED) {
      // Close the socket now: left alone, a silent broker would hold the process until the connect timeout.
      connecting.catch(() => undefined);
      client?.end(true);
      return EXIT.interrupted;
    }
    conn = first;
    const outcome = await Promise.race([work(conn), stop.promise]);
    if (outcome === INTERRUPTED) {
      const inFlight = Object.keys(conn.client.outgoing).length;
      // The first Ctrl-C's listener is gone now: a second one takes Node's default and quits at once.
      if (inFlight > 0) printer.note(`interrupted: finishing ${inFlight} handshake(s) in flight, then disconnecting (Ctrl-C again quits at once)`);
      await conn.end();
      return EXIT.interrupted;
    }
    await conn.end();
    return EXIT.ok;
  } catch (error) {
    // Still connected with nothing in flight (a refused subscription, a timeout): say goodbye with DISCONNECT.
    // Otherwise close at once; waiting for handshakes the broker may never finish would hang.
    if (conn?.client.connected && Object.keys(conn.client.outgoing).length === 0) await conn.end();
    else conn?.client.end(true);
    throw error;
  } finally {
    stop.dispose();
  }
}

/** What a tool does once connected; `prepare` runs before CONNECT, `after` once DISCONNECT went out. */
export interface Tool {
  work(conn: Connection): Promise<void>;
  prepare?(client: MqttClient): void;
  after?(): void;
}

/**
 * Everything around a tool's own work, in one place for both tools: the
 * printer (and --json trace), the --fault proxy, the connection, Ctrl-C.
 */
export async function runTool(options: CommonOptions, role: Link, build: (printer: Printer) => Tool): Promise<number> {
  const traced = tracedPrinter(makePrinter(options.output), options.output.json, role, options.connection.protocol);
  const { printer } = traced;
  const tool = build(printer);
  const fault = options.fault ? await faultLink().startFaultLink(options.connection, options.fault, printer.note) : undefined;
  try {
    const code = await withConnection(fault?.connection ?? options.connection, printer, (conn) => tool.work(conn), (client) => {
      fault?.prepare(client);
      tool.prepare?.(client);
    });
    if (code === EXIT.ok) tool.after?.();
    return code;
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
function faultLink(): typeof import('../faults/fault-link') {
  return require('../faults/fault-link') as typeof import('../faults/fault-link');
}
