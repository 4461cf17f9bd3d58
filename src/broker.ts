#!/usr/bin/env node
// npm run broker: a broker that prints the broker's side of every flow, so a
// downgrade (PUBLISH q1 in, PUBLISH q0 out) is visible here too. The embedded
// aedes by default; --engine mosquitto runs mosquitto behind the same packet tap.
import { startBroker } from './broker/embedded';
import { startMosquitto } from './broker/mosquitto';
import { startTappedMosquitto } from './broker/start';
import { CliError, EXIT } from './cli/errors';
import { runMain } from './cli/main';
import { isEveryInterface, parseBroker, type BrokerCliOptions } from './cli/options/broker';
import { interrupted } from './cli/signals';
import { formatBrokerPacket, paint, useColor } from './mqtt/format';
import type { BrokerPacketListener } from './wire/tap';
import { COMMANDS } from './cli/options/parse';

interface Running {
  url: string;
  banner: string;
  close(): Promise<void>;
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseBroker(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { options } = parsed;
  const { display, engine } = options;
  const style = { verbose: display.verbose, color: useColor(display.color, process.stdout) };
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const onPacket: BrokerPacketListener = (event) => {
    print(formatBrokerPacket(event, style));
    if (engine === 'aedes' && event.packet.cmd === 'connect' && event.packet.protocolVersion === 5) {
      print(paint(`  ${event.clientId} asked for MQTT 5; this broker (aedes) speaks MQTT 3.1.1 only and refuses it: use --protocol 3.1.1, or --engine mosquitto`, 'note', style.color));
    }
  };
  const stop = interrupted();
  const tap = options.quiet ? undefined : onPacket;
  let broker: Running;
  try {
    broker = engine === 'mosquitto' ? await runMosquitto(options, tap) : await runAedes(options, tap);
  } catch (error) {
    stop.dispose();
    throw listenError(error, options);
  }
  const auth = options.credentials ? `; clients must log in as '${options.credentials.username}'` : '';
  // Said on the one line everyone reads: a broker others can reach is a choice, not a default.
  const reach = options.remote ? `; NOT loopback: ${isEveryInterface(options.host) ? 'every interface' : options.host} (--allow-remote), other machines can connect` : '';
  print(`${broker.banner} listening on ${broker.url}${reach}${auth}; Ctrl-C stops it`);
  await stop.promise;
  stop.dispose();
  await broker.close();
  print('broker stopped');
  return EXIT.ok;
}

/** A failed listen, in the words of the flag that chose it (never a raw getaddrinfo or EADDRINUSE). */
function listenError(error: unknown, options: BrokerCliOptions): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const host = `--host '${options.host}'`;
  if (code === 'EADDRINUSE') return new CliError(`--port ${options.port} on ${options.host} is in use: is a broker already running? Try another --port`, EXIT.usage);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL') return new CliError(`${host}: no such host (the resolver does not know it)`, EXIT.usage);
  if (code === 'EADDRNOTAVAIL') return new CliError(`${host} is not an address of this machine: listen on one of its own (127.0.0.1, ::1, 0.0.0.0)`, EXIT.usage);
  if (code === 'EACCES') return new CliError(`--port ${options.port}: permission denied (ports below 1024 need privileges): try --port 1883`, EXIT.usage);
  if (code === 'EAFNOSUPPORT') return new CliError(`${host}: this machine has no such address family (IPv6 off?)`, EXIT.usage);
  return error instanceof Error ? error : new Error(String(error));
}

async function runAedes(options: BrokerCliOptions, onPacket: BrokerPacketListener | undefined): Promise<Running> {
  const broker = await startBroker({ host: options.host, port: options.port, onPacket, credentials: options.credentials });
  return { url: broker.url, banner: 'embedded MQTT 3.1.1 broker (aedes)', close: broker.close };
}

/** mosquitto on a free loopback port, reached through the tap proxy on the port the user asked for. */
async function runMosquitto(options: BrokerCliOptions, onPacket: BrokerPacketListener | undefined): Promise<Running> {
  const { credentials } = options;
  if (!onPacket) {
    const mosquitto = await startMosquitto({ host: options.host, port: options.port, credentials });
    return { url: mosquitto.url, banner: 'mosquitto (MQTT 3.1.1 and 5, no packet tap)', close: mosquitto.close };
  }
  const tapped = await startTappedMosquitto({ host: options.host, port: options.port, credentials, onPacket });
  return {
    url: tapped.url,
    banner: `mosquitto (MQTT 3.1.1 and 5, itself on ${tapped.upstream}, packets seen by the tap in front of it)`,
    close: tapped.close,
  };
}

if (require.main === module) runMain(COMMANDS.broker, main);
