// What `npm run broker` does once its flags are read: start the broker, print
// its side of every packet and a banner, run until Ctrl-C, stop it.
import { MULTI_NODE } from '../broker/kind';
import { start, type StartedBroker } from '../broker/start';
import { CliError, EXIT } from './errors';
import { isEveryInterface, type BrokerCliOptions } from './options/broker';
import { closeOrQuit, interrupted, type Signal } from './signals';
import { formatBrokerPacket, paint, useColor } from '../mqtt/format';
import type { NodePacketEvent } from '../broker/nodes';

/** Resolves with the signal that stopped it, once the broker is closed. */
export async function serveBroker(options: BrokerCliOptions): Promise<Signal> {
  const { display, engine } = options;
  const style = { verbose: display.verbose, color: useColor(display.color, process.stdout) };
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const onPacket = (event: NodePacketEvent) => {
    // Across several nodes each line says whose tap saw it.
    print(`${event.node === undefined ? '' : `[${String.fromCharCode(65 + event.node)}] `}${formatBrokerPacket(event, style)}`);
    if (engine.startsWith('aedes') && event.packet.cmd === 'connect' && event.packet.protocolVersion === 5) {
      print(paint(`  ${event.clientId} asked for MQTT 5; this broker (aedes) speaks MQTT 3.1.1 only and refuses it: use --protocol 3.1.1, or --engine mosquitto`, 'note', style.color));
    }
  };
  const stop = interrupted();
  const tap = options.quiet ? undefined : onPacket;
  let broker: StartedBroker;
  try {
    const where = MULTI_NODE.includes(engine) ? options.nodes : { host: options.host, port: options.port, credentials: options.credentials };
    broker = await start(engine, { ...where, onPacket: tap });
  } catch (error) {
    stop.dispose();
    throw listenError(error, options);
  }
  const auth = options.credentials ? `; clients must log in as '${options.credentials.username}'` : '';
  // Said on the one line everyone reads: a broker others can reach is a choice, not a default.
  const reach = options.remote ? `; NOT loopback: ${isEveryInterface(options.host) ? 'every interface' : options.host} (--allow-remote), other machines can connect` : '';
  const nodes = broker.nodes ? `; ${broker.nodes.map((n) => `node ${n.label} on ${n.url}`).join(', ')}; ${broker.hop?.text ?? ''}` : '';
  print(`${banner(broker)} listening on ${broker.url}${nodes}${reach}${auth}; Ctrl-C stops it`);
  const signal = await stop.promise;
  stop.dispose();
  // A second signal while closing quits at once.
  await closeOrQuit(() => broker.close());
  print('broker stopped');
  return signal;
}

function banner(broker: StartedBroker): string {
  if (broker.nodes) return `${broker.name} (MQTT 3.1.1${broker.engine === 'mosquitto-bridge' ? ' and 5' : ''})`;
  if (broker.engine === 'aedes') return 'embedded MQTT 3.1.1 broker (aedes)';
  if (!broker.upstream) return 'mosquitto (MQTT 3.1.1 and 5, no packet tap)';
  return `mosquitto (MQTT 3.1.1 and 5, itself on ${broker.upstream}, packets seen by the tap in front of it)`;
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
