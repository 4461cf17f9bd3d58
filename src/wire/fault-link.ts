// What --fault does for one tool: put the relay, with the fault, between it and the broker,
// turn reconnect on, and say in notes what the wire shows (a cut, a reconnect,
// a resend). Every note is triggered by a real event, never predicted.
import type { MqttClient } from 'mqtt';
import { onWire, type ConnectionOptions } from '../mqtt/connection';
import type { Packet } from '../mqtt/packet-event';
import { describeFault, type FaultSpec } from './fault';
import { startRelay, upstreamOf } from './relay';

/** Short enough that a demo does not stall, long enough not to spin against a broker that is down. */
export const RECONNECT_PERIOD_MS = 50;
/** Attempts in a row without a CONNACK before the tool gives up (about 2 s at RECONNECT_PERIOD_MS against a broker that is down). */
export const RECONNECT_ATTEMPTS = 40;

export interface FaultLink {
  /** The tool's connection options, pointed at the proxy, with reconnect on. */
  connection: ConnectionOptions;
  /** Attach before CONNECT: notes for reconnects and resends. */
  prepare(client: MqttClient): void;
  close(): Promise<void>;
}

export async function startFaultLink(connection: ConnectionOptions, fault: FaultSpec, note: (text: string) => void): Promise<FaultLink> {
  const proxy = await startRelay({
    upstream: upstreamOf(connection.url),
    cutMalformed: true,
    fault,
    onCut: (cut) =>
      note(
        `fault: the proxy cut the connection (${cut.reason}); ${cut.reason.startsWith('before') ? 'that packet never arrived' : 'what was in flight may not have arrived (QoS 0 is gone, QoS 1/2 get resent)'}`,
      ),
  });
  note(`fault: connecting through a proxy on ${proxy.url} that will ${describeFault(fault)}`);
  return {
    connection: { ...connection, url: proxy.url, reconnect: { periodMs: RECONNECT_PERIOD_MS, maxAttempts: RECONNECT_ATTEMPTS } },
    prepare: (client) => {
      const written = new Set<string>();
      client.on('reconnect', () => note(`reconnecting as ${connection.clientId} with clean=${connection.clean}`));
      // From the wire events, not MQTT.js's packetsend: a resend into a dead socket never left.
      onWire(client, ({ direction, packet }) => {
        if (direction === 'receive') return forget(packet);
        if (packet.cmd !== 'publish' && packet.cmd !== 'pubrel') return;
        if (packet.cmd === 'publish' && packet.qos === 0) return;
        const key = `${packet.cmd}:${packet.messageId}`;
        if (packet.cmd === 'publish' && packet.dup) note(`  resent PUBLISH id=${packet.messageId} with DUP=1: no acknowledgement arrived before the cut [MQTT-3.3.1-1]`);
        else if (packet.cmd === 'pubrel' && written.has(key)) note(`  resent PUBREL id=${packet.messageId}: its PUBCOMP never arrived`);
        written.add(key);
      });
      // An id is free again once its flow completes; forget it so a reused id is not taken for a resend.
      const forget = (packet: Packet) => {
        if (packet.cmd === 'puback' || packet.cmd === 'pubcomp') {
          written.delete(`publish:${packet.messageId}`);
          written.delete(`pubrel:${packet.messageId}`);
        }
      };
    },
    close: () => proxy.close(),
  };
}
