// Starting the broker a command asked for, on loopback, with its side of the
// wire visible: the embedded aedes through its socket tap, or Debian's
// mosquitto through the relay in front of it (the same bytes, read on the way).
import { startBroker } from './embedded';
import type { BrokerKind } from './kind';
import { startMosquitto, type MosquittoBroker, type MosquittoOptions } from './mosquitto';
import type { BrokerPacketListener } from '../wire/tap';
import { startRelay } from '../wire/relay';
import type { Endpoint } from './listen';

export type { BrokerKind };

export interface LabBroker extends Endpoint {
  kind: BrokerKind;
  /** `aedes (embedded)` or `mosquitto 2.0.11 (Debian)`, for headings. */
  name: string;
  /** What the broker logged so far (mosquitto); empty for aedes, which logs nothing. */
  log(): string;
}

/** The one way a command starts its broker; `config` adds mosquitto.conf lines (aedes has no config). */
export async function startLabBroker(kind: BrokerKind, onPacket?: BrokerPacketListener, config: string[] = []): Promise<LabBroker> {
  if (kind === 'aedes') {
    const broker = await startBroker({ port: 0, onPacket });
    return { kind, name: 'aedes (embedded)', ...broker, log: () => '' };
  }
  const mosquitto = onPacket ? await startTappedMosquitto({ onPacket, config }) : await startMosquitto({ config });
  const version = /mosquitto version (\S+)/.exec(mosquitto.log())?.[1] ?? '';
  const name = `mosquitto ${version}`.trim();
  return { kind, name, url: mosquitto.url, host: mosquitto.host, port: mosquitto.port, log: mosquitto.log, close: mosquitto.close };
}

export interface TappedMosquittoOptions extends MosquittoOptions {
  /** host and port are where the tap proxy listens; mosquitto itself takes a free loopback port behind it. */
  onPacket: BrokerPacketListener;
}

export interface TappedMosquitto extends MosquittoBroker {
  /** mosquitto's own URL, behind the tap (url is the tap's: clients connect there). */
  upstream: string;
}

/** mosquitto behind the tap proxy: every packet it sends or receives reaches onPacket. */
export async function startTappedMosquitto(options: TappedMosquittoOptions): Promise<TappedMosquitto> {
  const { host, port, onPacket, ...rest } = options;
  const mosquitto = await startMosquitto(rest);
  try {
    const proxy = await startRelay({ host, port, upstream: mosquitto, onPacket });
    return {
      ...mosquitto,
      host: proxy.host,
      port: proxy.port,
      url: proxy.url,
      upstream: mosquitto.url,
      close: async () => {
        await proxy.close();
        await mosquitto.close();
      },
    };
  } catch (error) {
    await mosquitto.close();
    throw error;
  }
}
