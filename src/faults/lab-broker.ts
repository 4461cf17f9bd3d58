// The broker a scenario or chaos run uses, started on loopback for that run:
// the embedded aedes, or Debian's mosquitto. Either way the broker's side of
// the wire is visible: aedes through its socket tap, mosquitto through the
// tap proxy in front of it (the same bytes, read on the way).
import { startBroker } from '../broker/embedded';
import { startMosquitto } from '../broker/mosquitto';
import type { BrokerPacketEvent } from '../mqtt/packet-event';
import type { BrokerKind } from '../broker/kind';
import { startTapProxy } from '../broker/proxy';

export type { BrokerKind };

export interface LabBroker {
  kind: BrokerKind;
  /** `aedes (embedded)` or `mosquitto 2.0.11 (Debian)`, for headings. */
  name: string;
  url: string;
  host: string;
  port: number;
  /** What the broker logged so far (mosquitto); empty for aedes, which logs nothing. */
  log(): string;
  close(): Promise<void>;
}

export async function startLabBroker(kind: BrokerKind, onPacket?: (event: BrokerPacketEvent) => void): Promise<LabBroker> {
  if (kind === 'aedes') {
    const broker = await startBroker({ port: 0, onPacket });
    return { kind, name: 'aedes (embedded)', ...broker, log: () => '' };
  }
  const mosquitto = await startMosquitto();
  const version = /mosquitto version (\S+)/.exec(mosquitto.log())?.[1] ?? '';
  const name = `mosquitto ${version}`.trim();
  if (!onPacket) return { kind, name, url: mosquitto.url, host: mosquitto.host, port: mosquitto.port, log: mosquitto.log, close: mosquitto.close };
  const tap = await startTapProxy({ upstream: { host: mosquitto.host, port: mosquitto.port }, onPacket });
  return {
    kind,
    name,
    url: tap.url,
    host: tap.host,
    port: tap.port,
    log: mosquitto.log,
    close: async () => {
      await tap.close();
      await mosquitto.close();
    },
  };
}
