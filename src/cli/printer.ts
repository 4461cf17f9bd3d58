// Where lines go. Packet lines and notes share one stream (stdout, or stderr
// with --log=stderr); received payloads always go to stdout, so
// `subscribe-with-qos --log=stderr | jq` sees payloads alone.
import { performance } from 'node:perf_hooks';
import type { ProtocolVersion } from '../mqtt/connection';
import { escapeText, formatPacket, paint, useColor, type Style } from '../mqtt/format';
import type { Leg, PacketEvent } from '../mqtt/packet-event';
import { traceRecord, traceWriter, type TraceContext } from '../mqtt/trace';
import type { TraceFile } from './options/parse';
import type { Io } from './io';
import { openOutputFile } from './output-file';
import type { OutputOptions } from './options';

export interface Printer {
  style: Style;
  /** True when log lines and payloads share stdout. */
  shared: boolean;
  packet(event: PacketEvent): void;
  note(text: string): void;
  /** One line of our own on stdout (--json's records). */
  line(text: string): void;
  /** A received payload, alone on stdout: raw bytes into a pipe or file, escaped on a terminal. */
  payload(bytes: Buffer): void;
  /** Resolves when stdout was closed under us (`| head -1`): what is written there goes nowhere from then on. */
  stdoutClosed: Promise<void>;
}

type Streams = Pick<Io, 'out' | 'err'> & Partial<Pick<Io, 'env'>>;

export function makePrinter(output: OutputOptions, streams: Streams = { out: process.stdout, err: process.stderr }): Printer {
  const { out, err } = streams;
  const log = output.log === 'stderr' ? err : out;
  const style: Style = { verbose: output.verbose, color: useColor(output.color, log, streams.env) };
  // A closed stdout (EPIPE) must not end the run and silently cost messages: stop writing there, say so once on stderr.
  let outOpen = true;
  let closed: () => void = () => undefined;
  const stdoutClosed = new Promise<void>((resolve) => (closed = resolve));
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (!outOpen) return;
    outOpen = false;
    const what = error.code === 'EPIPE' ? 'stdout was closed' : `stdout failed (${error.code ?? error.message})`;
    write(err, `${paint(`${what}: nothing more is shown there`, 'note', useColor(output.color, err, streams.env))}\n`);
    closed();
  });
  // stderr closed as well (`2>&1 | head`): nothing can be said any more, but the run still goes on.
  let errOpen = true;
  if (err !== out) err.on('error', () => (errOpen = false));
  const write = (stream: NodeJS.WritableStream, text: string | Buffer) => {
    if ((stream === out && !outOpen) || (stream === err && !errOpen)) return;
    stream.write(text);
  };
  return {
    style,
    shared: log === out,
    packet: (event) => write(log, `${formatPacket(event, style)}\n`),
    note: (text) => write(log, `${paint(text, 'note', style.color)}\n`),
    line: (text) => write(out, `${text}\n`),
    payload: (bytes) => write(out, out.isTTY ? `${escapeText(bytes.toString())}\n` : Buffer.concat([bytes, Buffer.from('\n')])),
    stdoutClosed,
  };
}

/**
 * --trace on publish-with-qos / subscribe-with-qos: the printer also writes each
 * packet to the trace file. `close` must run when the tool is done.
 */
export function tracedPrinter(printer: Printer, file: TraceFile | undefined, leg: Leg, protocol: ProtocolVersion, stdout?: NodeJS.WritableStream): { printer: Printer; close(): void } {
  if (file === undefined) return { printer, close: () => undefined };
  const trace = traceWriter(openOutputFile(file.flag, file.path, stdout));
  const context: TraceContext = { leg, seenBy: leg, protocol, start: performance.now() };
  return {
    printer: {
      ...printer,
      packet: (event) => {
        printer.packet(event);
        trace.write(traceRecord(event, context));
      },
    },
    close: trace.close,
  };
}
