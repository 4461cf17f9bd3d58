// npm start: runs the pairs and shows them: per pair a title, the message-id
// mapping and the three-lane diagram as each pair completes; the matrix last;
// then the --trace file and --mermaid diagrams, if asked for. A broker that
// broke an MQTT rule, or never answered, ends the lab with one error line
// (exit 6 or 4) after everything it did was shown.
import { MqttError } from '../mqtt/errors';
import { paint, type Style } from '../mqtt/format';
import { brokerLaneLabel, formatDiagram, type TapKind } from './diagram';
import { cellOf, formatMatrix, minText } from './matrix';
import { mermaidDocument, type MermaidPair } from './mermaid';
import { runPairs, type LabOptions, type LabPair, type LabSession } from './pairs';
import type { Timeline } from './timeline';
import { traceWriter, type TraceSink } from '../mqtt/trace';
import { pairRecords } from './trace';
import { violationsOf, violationText } from './violations';

/** A file the command opened for the lab to write (--mermaid): opened before any work, so a bad path fails first. */
export interface ExportFile {
  path: string;
  write(text: string): void;
  close(): void;
}

/** What the lab runs, and where its Mermaid export goes. */
export interface LabRunOptions {
  lab: LabOptions;
  mermaid?: ExportFile;
}

/** The --trace file, opened by the command: where its records go, and the path the last line names. */
export type LabTraceFile = TraceSink & { path: string };

export async function runLab(options: LabRunOptions, style: Style, print: (line: string) => void, stop?: AbortSignal, traceFile?: LabTraceFile): Promise<LabPair[]> {
  const trace = traceFile && traceWriter(traceFile);
  const mermaid = options.mermaid ?? null;
  let session: LabSession | undefined;
  const version = options.lab.protocol === 5 ? 'MQTT 5' : 'MQTT 3.1.1';
  try {
    const pairs = await runPairs(
      options.lab,
      (s) => {
        session = s;
        print(`QoS lab: ${s.brokerName}, ${version}\n`);
      },
      (pair) => {
        print(paint(`== ${pairTitle(pair)} ==`, 'note', style.color));
        for (const warning of pairWarnings(pair)) print(paint(`! ${warning}`, 'note', style.color));
        if (pair.timeline.messages.length) print(idLine(pair.timeline));
        print(paint(brokerLaneLabel(pair.timeline, brokerShortName(session), tapKind(session)), 'dim', style.color));
        for (const line of formatDiagram(pair.timeline, style)) print(line);
        print('');
        if (trace && session) trace.writeAll(pairRecords(pair, session.start, options.lab.protocol));
      },
      stop,
    );
    if (stop?.aborted) return pairs;
    for (const line of labMatrix(pairs, session, version)) print(line);
    if (trace && traceFile) {
      const { packets, cuts } = trace.written;
      print(`\ntrace: ${packets} packet records${cuts ? ` and ${cuts} cut record(s)` : ''} written to ${traceFile.path}`);
    }
    if (mermaid) {
      mermaid.write(labMermaid(pairs, session, version));
      print(`${trace ? '' : '\n'}mermaid: ${pairs.length} sequence diagram(s) written to ${mermaid.path}`);
    }
    return pairs;
  } finally {
    try {
      trace?.close();
    } finally {
      mermaid?.close();
    }
  }
}

/** What a pair's title is followed by when it went wrong: each rule the broker broke, an answer that never came. */
export function pairWarnings(pair: LabPair): string[] {
  return [...violationsOf(pair.timeline.arrows).map((v) => `rule broken: ${violationText(v)}`), ...(pair.timedOut && pair.problem ? [pair.problem] : [])];
}

/** The matrix as the terminal prints it, for this session. */
export function labMatrix(pairs: readonly LabPair[], session: LabSession | undefined, version: string): string[] {
  return formatMatrix(pairs.map(cellOf), { broker: `${session?.brokerName ?? ''}, ${version}` });
}

/** The --mermaid document: one sequence diagram per pair. */
export function labMermaid(pairs: readonly LabPair[], session: LabSession | undefined, version: string): string {
  const brokerName = session?.engine ? `Broker (${session.engine} tap)` : 'Broker (derived)';
  const diagrams: MermaidPair[] = pairs.map((p) => ({ title: pairTitle(p), timeline: p.timeline, brokerName }));
  return mermaidDocument(`QoS lab, ${session?.brokerName ?? ''}, ${version}`, diagrams);
}

export function pairTitle(pair: LabPair): string {
  const head = `publish QoS ${pair.publishQos}, subscribe QoS ${pair.subscribeQos}`;
  const cell = cellOf(pair);
  const expected = `${minText(cell)} = ${cell.expected}`;
  const got = cell.delivered;
  return got === null ? `${head}, nothing delivered (${expected})` : `${head}, delivered at QoS ${got} (${expected})`;
}

/** The publisher's message id and the one the broker chose toward the subscriber. */
export function idLine(timeline: Timeline): string {
  const id = (value: number | undefined) => (value === undefined ? 'no id (QoS 0)' : `id=${value}`);
  return timeline.messages
    .map((m) => `message id: publisher's ${m.resent ? 'resent ' : ''}PUBLISH ${id(m.publisherId)} -> broker's PUBLISH to the subscriber ${m.forwarded ? id(m.subscriberId) : 'never sent'}`)
    .join('\n');
}

export function brokerShortName(session: LabSession | undefined): string {
  return session?.engine ?? 'an external broker';
}

export function tapKind(session: LabSession | undefined): TapKind {
  const engine = session?.engine;
  return engine === 'aedes' || engine === 'aedes-cluster' ? 'socket tap' : engine === 'mosquitto' || engine === 'mosquitto-bridge' ? 'tap proxy' : null;
}

/**
 * The lab's verdict once everything is shown: a broken MQTT rule (exit 6)
 * outranks an answer that never came (exit 4); null when the broker did its part.
 */
export function labVerdict(pairs: readonly LabPair[]): MqttError | null {
  const name = (p: LabPair) => `pub ${p.publishQos} / sub ${p.subscribeQos}`;
  const broke = pairs.filter((p) => violationsOf(p.timeline.arrows).length > 0);
  if (broke.length) {
    const first = violationsOf(broke[0]!.timeline.arrows)[0]!;
    return new MqttError('violation', `the broker broke an MQTT rule in ${count(broke.length, pairs.length)} (${broke.map(name).join(', ')}): it ${first.text} [${first.rule}]`);
  }
  const silent = pairs.filter((p) => p.timedOut);
  if (silent.length) {
    const missing = [...new Set(silent.map((p) => p.timedOut))].join(', ');
    return new MqttError('timeout', `the broker left ${count(silent.length, pairs.length)} unanswered (${silent.map(name).join(', ')}): no ${missing} within --ack-timeout`);
  }
  return null;
}

function count(n: number, of: number): string {
  return `${n} of ${of} pair${of === 1 ? '' : 's'}`;
}
