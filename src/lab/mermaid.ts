// The same timelines as Mermaid sequence diagrams, one fenced block per pair in
// a Markdown file, so they render on GitHub and in editors.
import { cutText } from './diagram';
import { arrowLabel } from './label';
import { interleave, type Timeline } from './timeline';
import type { Lane } from './lanes';
import { violationsOf } from './violations';

const ACTOR: Record<Lane, string> = { publisher: 'P', broker: 'B', subscriber: 'S' };

export interface MermaidPair {
  title: string;
  timeline: Timeline;
  /** How the broker participant is named, e.g. "Broker (aedes tap)". */
  brokerName: string;
}

export function mermaidDiagram(pair: MermaidPair): string[] {
  const across = pair.timeline.across;
  // Across two nodes the subscriber's leg ends at node B (actor N) and the hop's packets go between A and N.
  const actor = (lane: Lane, leg: 'publisher' | 'subscriber') => (across && lane === 'broker' && leg === 'subscriber' ? 'N' : ACTOR[lane]);
  const lines = [
    'sequenceDiagram',
    `  title ${safe(pair.title)}`,
    '  participant P as Publisher',
    ...(across
      ? [`  participant B as Node ${across.nodes.publisher}`, `  participant N as Node ${across.nodes.subscriber}`]
      : [`  participant B as ${safe(pair.brokerName)}`]),
    '  participant S as Subscriber',
  ];
  const notes = [
    ...(across?.hops ?? []).map((h) => ({ at: h.at, line: `  ${h.toward === 'subscriber-node' ? 'B-)N' : 'N-)B'}: ${safe(`${arrowLabel(typeof h.packet.messageId === 'number' ? h.packet : { ...h.packet, messageId: undefined })} (${across?.hopSeenBy ?? 'hop'})`)}` })),
    ...pair.timeline.cuts.map((c) => ({ at: c.at, line: `  Note over ${c.leg === 'publisher' ? 'P,B' : `${actor('broker', 'subscriber')},S`}: ${safe(cutText(c))}` })),
    ...pair.timeline.notes.map((n) => ({ at: n.at, line: `  Note over ${ACTOR[n.lane]}: ${safe(n.text)}` })),
  ];
  const broken = new Map(violationsOf(pair.timeline.arrows).map((v) => [v.arrow, v.rule]));
  const steps = interleave(pair.timeline.arrows, notes).map((step) => {
    if (!('arrow' in step)) return step.other.line;
    const a = step.arrow;
    const rule = broken.get(a);
    // -x: an arrow that ends in a cross, for the packet the fault proxy swallowed.
    return `  ${actor(a.from, a.leg)}${a.lost ? '-x' : '->>'}${actor(a.to, a.leg)}: ${safe(arrowLabel(a.packet))}${a.lost ? ' (lost in the cut)' : ''}${rule ? ` ${safe(`(breaks ${rule})`)}` : ''}`;
  });
  return [...lines, ...steps];
}

/** A Markdown document: a heading and a ```mermaid block per pair. */
export function mermaidDocument(heading: string, pairs: readonly MermaidPair[]): string {
  const parts = [`# ${heading}`, ''];
  for (const pair of pairs) parts.push(`## ${pair.title}`, '', '```mermaid', ...mermaidDiagram(pair), '```', '');
  return parts.join('\n');
}

/** Mermaid reads `;` and `#` as syntax and `:` as a separator in titles; keep text plain. */
function safe(text: string): string {
  return text.replace(/[;#:]/g, ' ').replace(/\s+/g, ' ').trim();
}
