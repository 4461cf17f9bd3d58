// Where lines go. Packet lines and notes share one stream (stdout, or stderr
// with --log=stderr); received payloads always go to stdout, so
// `subscribe-with-qos --log=stderr | jq` sees payloads alone.
import { performance } from 'node:perf_hooks';
import type { ProtocolVersion } from '../mqtt/connection';
import { formatPacket, paint, useColor, type Style } from '../mqtt/format';
import type { Link, PacketEvent } from '../mqtt/packet-event';
import { traceLine, traceRecord, type TraceContext } from '../mqtt/trace';
import { openOutputFile } from './output-file';
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

/**
 * --json on publish-with-qos / subscribe-with-qos: the printer also writes each
 * packet to the trace file. `close` must run when the tool is done.
 */
export function tracedPrinter(printer: Printer, path: string | undefined, leg: Link, protocol: ProtocolVersion): { printer: Printer; close(): void } {
  if (path === undefined) return { printer, close: () => undefined };
  const file = openOutputFile('json', path);
  const context: TraceContext = { leg, seenBy: leg, protocol, start: performance.now() };
  return {
    printer: {
      ...printer,
      packet: (event) => {
        printer.packet(event);
        file.write(traceLine(traceRecord(event, context)));
      },
    },
    close: file.close,
  };
}
