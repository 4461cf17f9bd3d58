// Where lines go. Packet lines and notes share one stream (stdout, or stderr
// with --log=stderr); received payloads always go to stdout, so
// `subscribe-with-qos --log=stderr | jq` sees payloads alone.
import { formatPacket, paint, useColor, type Style } from '../mqtt/format';
import type { PacketEvent } from '../mqtt/packet-event';
import type { OutputOptions } from './options';

export interface Printer {
  style: Style;
  /** True when log lines and payloads share stdout. */
  shared: boolean;
  packet(event: PacketEvent): void;
  note(text: string): void;
  payload(text: string): void;
}

interface Streams {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean };
}

export function makePrinter(output: OutputOptions, streams: Streams = { out: process.stdout, err: process.stderr }): Printer {
  const log = output.log === 'stderr' ? streams.err : streams.out;
  const style: Style = { verbose: output.verbose, color: useColor(output.color, log) };
  return {
    style,
    shared: log === streams.out,
    packet: (event) => log.write(`${formatPacket(event, style)}\n`),
    note: (text) => log.write(`${paint(text, 'note', style.color)}\n`),
    payload: (text) => streams.out.write(`${text}\n`),
  };
}
