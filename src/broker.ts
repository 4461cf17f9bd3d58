#!/usr/bin/env node
// npm run broker: an embedded MQTT broker that prints the broker's side of
// every flow, so a downgrade (PUBLISH q1 in, PUBLISH q0 out) is visible here too.
import { startBroker } from './broker/embedded';
import { EXIT } from './cli/errors';
import { runMain } from './cli/main';
import { parseBroker } from './cli/options';
import { interrupted } from './cli/signals';
import { formatBrokerPacket, paint, useColor } from './mqtt/format';

export async function main(argv: string[]): Promise<number> {
  const parsed = parseBroker(argv);
  if (parsed.kind === 'shown') return EXIT.ok;
  const { host, port, display } = parsed.options;
  const style = { verbose: display.verbose, color: useColor(display.color, process.stdout) };
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const stop = interrupted();
  const broker = await startBroker({
    host,
    port,
    onPacket: (event) => {
      print(formatBrokerPacket(event, style));
      if (event.packet.cmd === 'connect' && event.packet.protocolVersion === 5) {
        print(paint(`  ${event.clientId} asked for MQTT 5; this broker (aedes) speaks MQTT 3.1.1 only and refuses it: use --protocol 3.1.1`, 'note', style.color));
      }
    },
  }).catch((error: NodeJS.ErrnoException) => {
    stop.dispose();
    throw new Error(error.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use: is a broker already running? Try --port` : error.message);
  });
  print(`embedded MQTT 3.1.1 broker (aedes) listening on ${broker.url}; Ctrl-C stops it`);
  await stop.promise;
  stop.dispose();
  await broker.close();
  print('broker stopped');
  return EXIT.ok;
}

if (require.main === module) runMain('npm run broker --', main);
