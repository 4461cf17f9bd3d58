// The report card three ways: lines for a terminal (colour where allowed), a
// Markdown report for a ticket, one JSON object. Each is built from the answers
// alone; nothing here measures.
import { escapeText, paint, type Tint } from '../mqtt/format';
import { rangesText, type Answer, type Verdict } from './answer';
import type { ProbeReport } from './run';

const TINTS: Record<Verdict, Tint> = { conforms: 'send', differs: 'note', violates: 'alarm', 'not-applicable': 'dim', unmeasured: 'note' };

/** `conforms`, `differs (allowed)`, `violates [MQTT-3.3.1-1]`, ... */
function verdictLabel(a: Answer): string {
  if (a.verdict === 'violates') return `violates [${a.rule ?? 'MQTT'}]`;
  if (a.verdict === 'differs') return 'differs (allowed)';
  if (a.verdict === 'not-applicable') return 'not applicable';
  return a.verdict;
}

/** Up to this many ranges are listed; more are shown as their span (--json keeps every range). */
const LISTED = 6;

function evidenceText(a: Answer): string {
  if (a.evidence.length === 0) return 'no records';
  if (a.evidence.length <= LISTED) return `records ${rangesText(a.evidence)}`;
  const count = a.evidence.reduce((n, [from, to]) => n + to - from + 1, 0);
  return `${count} records in ${a.evidence[0]![0]}-${a.evidence.at(-1)![1]}`;
}

/** Where the record numbers point: the trace file, or nowhere kept. */
function whereText(trace: string | undefined): string {
  if (trace === '-') return 'record numbers are lines of the trace on stdout';
  return trace ? `record numbers are lines of ${trace}` : 'record numbers count the packets of this run (--trace FILE keeps them)';
}

export function brokenPromises(report: ProbeReport): Answer[] {
  return report.answers.filter((a) => a.verdict === 'violates');
}

const LABEL_WIDTH = 'violates [MQTT-4.3.3-2]'.length;

export function heading(report: Pick<ProbeReport, 'broker'>): string {
  return `Broker report card: ${escapeText(report.broker)}`;
}

/** One line per answer, as the terminal shows it. */
export function answerLine(a: Answer, color: boolean): string {
  const label = paint(verdictLabel(a).padEnd(LABEL_WIDTH), TINTS[a.verdict], color);
  return `  ${label}  ${a.question}: ${escapeText(a.fact)} ${paint(`(${evidenceText(a)})`, 'dim', color)}`;
}

export function footer(report: ProbeReport, trace: string | undefined): string[] {
  const broken = brokenPromises(report);
  const summary = broken.length === 0 ? 'no rule broken' : `${broken.length} broken: ${broken.map((a) => a.id).join(', ')}`;
  return [`${report.answers.length} question${report.answers.length === 1 ? '' : 's'} in ${report.seconds.toFixed(1)} s, ${report.records} packets recorded; ${whereText(trace)}`, `verdict: ${summary}`];
}

function cell(text: string): string {
  return escapeText(text).replace(/\|/g, '\\|');
}

export function markdown(report: ProbeReport, trace: string | undefined): string {
  const rows = report.answers.map((a) => `| ${a.question} | ${verdictLabel(a)} | ${cell(a.fact)} | ${evidenceText(a)} |`);
  return [`# ${heading(report)}`, '', ...footer(report, trace).map((l) => `${l}  `), '', '| question | verdict | measured | evidence |', '| --- | --- | --- | --- |', ...rows, ''].join('\n');
}

export function json(report: ProbeReport, trace: string | undefined): string {
  const broken = brokenPromises(report);
  return `${JSON.stringify({ broker: report.broker, seconds: Number(report.seconds.toFixed(2)), records: report.records, trace: trace ?? null, broken: broken.map((a) => a.id), questions: report.answers })}\n`;
}
