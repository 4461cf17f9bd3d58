// The chaos check's arithmetic, pure: from what was sent, acknowledged and
// delivered, how many were lost, duplicated or out of order, and whether the
// QoS level kept its promise.
import { QOS_NAMES, type QoS } from '../mqtt/qos';

export interface Tally {
  sent: number;
  /** The publisher's flow completed: PUBACK (QoS 1), PUBCOMP (QoS 2), written (QoS 0). */
  acked: number;
  /** Distinct sequence numbers delivered. */
  received: number;
  /** Deliveries beyond the first of the same sequence number. */
  duplicated: number;
  /** Sent and never delivered. */
  lost: number;
  /** Lost although the broker had acknowledged it to the publisher: the broker dropped it. */
  ackedButLost: number;
  /** First deliveries that came after a higher sequence number. */
  outOfOrder: number;
}

/** `delivered` lists sequence numbers in the order they arrived; `acked[i]` says whether message i was acknowledged. */
export function tally(sent: number, acked: readonly boolean[], delivered: readonly number[]): Tally {
  const seen = new Set<number>();
  let duplicated = 0;
  let outOfOrder = 0;
  let highest = -1;
  for (const seq of delivered) {
    if (seen.has(seq)) {
      duplicated++;
      continue;
    }
    seen.add(seq);
    if (seq < highest) outOfOrder++;
    highest = Math.max(highest, seq);
  }
  let lost = 0;
  let ackedButLost = 0;
  for (let seq = 0; seq < sent; seq++) {
    if (seen.has(seq)) continue;
    lost++;
    if (acked[seq]) ackedButLost++;
  }
  return { sent, acked: acked.filter(Boolean).length, received: seen.size, duplicated, lost, ackedButLost, outOfOrder };
}

export interface Verdict {
  kept: boolean;
  text: string;
}

/** QoS 0 may lose; QoS 1 must lose nothing; QoS 2 must lose nothing and duplicate nothing. */
export function verdict(qos: QoS, t: Tally): Verdict {
  const promise = `QoS ${qos} (${QOS_NAMES[qos]})`;
  const dropped = t.ackedButLost > 0 ? `, ${t.ackedButLost} of them after the broker had acknowledged them` : '';
  if (qos === 0) return { kept: true, text: `kept: ${promise} may lose messages (${t.lost} lost)` };
  if (t.lost > 0) return { kept: false, text: `BROKEN: ${promise} lost ${t.lost}${dropped}` };
  if (qos === 2 && t.duplicated > 0) return { kept: false, text: `BROKEN: ${promise} delivered ${t.duplicated} duplicate(s)` };
  if (qos === 1) return { kept: true, text: `kept: ${promise} lost nothing (${t.duplicated} duplicate(s) are allowed)` };
  return { kept: true, text: `kept: ${promise} lost nothing and duplicated nothing` };
}
