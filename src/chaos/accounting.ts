// The chaos check's arithmetic, pure: from what was sent, acknowledged and
// delivered, how many were lost, duplicated or out of order, and whether the
// QoS level kept its promise.
import { account, type Tally } from '../numbered/tally';
import { QOS_NAMES, type QoS } from '../mqtt/qos';

export interface ChaosTally {
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
  /** Publishes the client library failed with an error: the application was told and could send them again. */
  failed: number;
  /** Lost and failed: not a silent loss. */
  failedAndLost: number;
  /** First deliveries that came after a higher sequence number. */
  outOfOrder: number;
}

/**
 * `counts` is the subscriber's tally; `acked[i]` says whether message i was
 * acknowledged, `failed[i]` whether its publish failed with an error; `sent`
 * how many went out (a stalled run sends fewer than the tally expected).
 * The counting is the bench's (one rule for lost, duplicated and out of order).
 */
export function tally(counts: Tally, acked: ArrayLike<number | boolean>, failed: ArrayLike<number | boolean> = [], sent = counts.expected): ChaosTally {
  const summary = account(counts, acked, sent);
  let failedAndLost = 0;
  let ackedCount = 0;
  let failedCount = 0;
  for (let seq = 0; seq < sent; seq++) {
    if (acked[seq]) ackedCount++;
    if (!failed[seq]) continue;
    failedCount++;
    if (!counts.seen[seq]) failedAndLost++;
  }
  return {
    sent,
    acked: ackedCount,
    received: summary.unique,
    duplicated: summary.duplicated,
    lost: summary.lost,
    ackedButLost: summary.ackedButLost,
    failed: failedCount,
    failedAndLost,
    outOfOrder: summary.outOfOrder,
  };
}

export interface Verdict {
  kept: boolean;
  text: string;
}

/**
 * QoS 0 may lose; QoS 1 must lose nothing; QoS 2 must lose nothing and
 * duplicate nothing. A publish the client failed with an error is not a silent
 * loss (the application knows), so it does not break the promise; it is named.
 */
export function verdict(qos: QoS, t: ChaosTally): Verdict {
  const promise = `QoS ${qos} (${QOS_NAMES[qos]})`;
  const silent = t.lost - t.failedAndLost;
  const told = t.failedAndLost > 0 ? `; ${t.failedAndLost} publish(es) failed with an error the application saw, so it can send them again` : '';
  const dropped = t.ackedButLost > 0 ? `, ${t.ackedButLost} of them after the broker had acknowledged them` : '';
  if (qos === 0) return { kept: true, text: `kept: ${promise} may lose messages (${t.lost} lost)` };
  if (silent > 0) return { kept: false, text: `BROKEN: ${promise} lost ${silent} without telling the publisher${dropped}${told}` };
  if (qos === 2 && t.duplicated > 0) return { kept: false, text: `BROKEN: ${promise} delivered ${t.duplicated} duplicate(s)${told}` };
  if (qos === 1) return { kept: true, text: `kept: ${promise} lost nothing silently (${t.duplicated} duplicate(s) are allowed)${told}` };
  return { kept: true, text: `kept: ${promise} lost nothing silently and duplicated nothing${told}` };
}

/**
 * A run given up on because the publisher got no acknowledgement for a while:
 * what was never acknowledged was never promised, so only a loss after an
 * acknowledgement breaks the promise.
 */
export function stalledVerdict(t: ChaosTally, stalledFor: string): Verdict {
  const pending = t.sent - t.acked - t.failed;
  const broken = t.ackedButLost > 0 ? `; BROKEN: ${t.ackedButLost} lost after the broker had acknowledged them` : '';
  return { kept: false, text: `STALLED: the publisher got no acknowledgement for ${stalledFor}; ${pending} publish(es) never acknowledged, so the broker promised nothing for them${broken}` };
}
