// What both tools do around their own work: connect with packet logging, run,
// disconnect; Ctrl-C at any point ends politely with EXIT.interrupted.
import type { MqttClient } from 'mqtt';
import { connect, type Connection, type ConnectionOptions } from '../mqtt/connection';
import { EXIT } from './errors';
import type { Printer } from './printer';
import { INTERRUPTED, interrupted } from './signals';

export async function withConnection(
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
    conn?.client.end(true);
    throw error;
  } finally {
    stop.dispose();
  }
}
