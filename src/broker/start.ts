// The one way anything starts a broker: the embedded aedes (its socket tap on
// every connection) or Debian's mosquitto (the relay in front of it, when
// packets are wanted: the same bytes, read on the way).
import { startBroker, type Credentials } from './embedded';
import type { BrokerKind } from './kind';
import { startMosquitto, type MosquittoBroker } from './mosquitto';
import type { BrokerPacketListener } from '../wire/tap';
import { startRelay } from '../wire/relay';
import type { Endpoint } from './listen';

export type { BrokerKind };

export interface StartOptions {
  /** Loopback (127.0.0.1) unless said. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Every packet the broker sends or receives; none taken when absent (mosquitto then runs without the proxy). */
  onPacket?: BrokerPacketListener;
  /** When given, clients must log in with exactly these. */
  credentials?: Credentials;
  /** mosquitto.conf lines (aedes has no config and ignores them). */
  config?: string[];
}

export interface StartedBroker extends Endpoint {
  engine: BrokerKind;
  /** `aedes (embedded)` or `mosquitto 2.0.11`, for headings. */
  name: string;
  /** mosquitto's own URL when the tap proxy stands in front of it (url is the proxy's: clients connect there). */
  upstream?: string;
  /** What the broker logged so far (mosquitto); empty for aedes, which logs nothing. */
  log(): string;
  /** The folder holding mosquitto's generated config; absent for aedes. */
  dir?: string;
}

export async function start(engine: BrokerKind, options: StartOptions = {}): Promise<StartedBroker> {
  const { onPacket, config = [], ...where } = options;
  if (engine === 'aedes') {
    const broker = await startBroker({ ...where, port: where.port ?? 0, onPacket });
    return { engine, name: 'aedes (embedded)', ...broker, log: () => '' };
  }
  // Behind the tap, mosquitto itself stays on a free loopback port: only the proxy listens where the caller asked.
  const mosquitto = onPacket
    ? await tapped(await startMosquitto({ credentials: where.credentials, config }), where, onPacket)
    : await startMosquitto({ ...where, config });
  const version = /mosquitto version (\S+)/.exec(mosquitto.log())?.[1] ?? '';
  return { engine, name: `mosquitto ${version}`.trim(), ...mosquitto };
}

/** mosquitto (on a free port) behind the tap proxy, which listens where the caller asked. */
async function tapped(mosquitto: MosquittoBroker, where: { host?: string; port?: number }, onPacket: BrokerPacketListener): Promise<MosquittoBroker & { upstream: string }> {
  try {
    const proxy = await startRelay({ host: where.host, port: where.port, upstream: mosquitto, onPacket });
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
