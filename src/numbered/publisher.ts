// The one windowed publisher of numbered traffic (chaos, the bench, the load
// test): payloads 0..count-1 issued strictly in order, at most `window`
// unfinished, optionally paced to a rate, ended by completion, a stall, a
// deadline or stop(). Every timer it starts it clears when it ends.
import type { MqttClient } from 'mqtt';
import { performance } from 'node:perf_hooks';
import type { QoS } from '../mqtt/qos';
import { payloadFor } from './payload';

export interface NumberedJob {
  topic: string;
  qos: QoS;
  count: number;
  /** Payload bytes per message (never fewer than the digits). */
  size: number;
  /** Most publishes unfinished at once; 0 for no limit. */
  window: number;
  /** Messages per second at most, counted from the start (late ones catch up); absent: as fast as the window allows. */
  rate?: number;
  /**
   * QoS 0 only: whether a publish holds its window slot until MQTT.js says it
   * was written (default). Chaos says no: across a cut MQTT.js may never call back.
   */
  awaitWrites?: boolean;
  /** End as 'stalled' when no publish has finished for this long (ms). */
  stallMs?: number;
  /** End as 'deadline' this long after the start (ms), whatever is left. */
  deadlineMs?: number;
}

export interface NumberedHooks {
  onIssued?(seq: number, at: number): void;
  /** MQTT.js called back: PUBACK/PUBCOMP came (QoS 1/2), it was written (QoS 0), or it failed with `error`. */
  onSettled?(seq: number, at: number, error?: Error): void;
}

export type PublishEnd = 'complete' | 'stalled' | 'deadline' | 'stopped';

export interface NumberedPublisher {
  /** Every message issued and finished, or why not. Nothing more is issued after it. */
  readonly done: Promise<PublishEnd>;
  /** Messages issued so far (0..issued-1). */
  readonly issued: number;
  /** Successful callbacks so far (they go on after `done`, until the connection ends). */
  readonly ackedCount: number;
  /** 1 for each sequence number MQTT.js acknowledged (QoS 0: written). */
  readonly acked: Uint8Array;
  /** 1 for each sequence number MQTT.js failed with an error. */
  readonly failed: Uint8Array;
  /** Failed publishes, by error message. */
  readonly errors: Record<string, number>;
  stop(): void;
}

export function publishNumbered(client: MqttClient, job: NumberedJob, hooks: NumberedHooks = {}): NumberedPublisher {
  const { topic, qos, count, size, window, rate } = job;
  const holdsSlot = qos > 0 || job.awaitWrites !== false;
  const acked = new Uint8Array(count);
  const failed = new Uint8Array(count);
  const errors: Record<string, number> = {};
  const start = performance.now();
  let issued = 0;
  let ackedCount = 0;
  let open = 0;
  let lastProgress = start;
  let ended = false;
  let finish: (end: PublishEnd) => void = () => undefined;
  const done = new Promise<PublishEnd>((resolve) => (finish = resolve));

  let paceTimer: NodeJS.Timeout | undefined;
  const deadline = job.deadlineMs === undefined ? undefined : setTimeout(() => end('deadline'), job.deadlineMs);
  const stallMs = job.stallMs;
  const watchdog =
    stallMs === undefined
      ? undefined
      : setInterval(() => {
          if (performance.now() - lastProgress > stallMs) end('stalled');
        }, Math.min(1000, stallMs / 4));
  function end(why: PublishEnd): void {
    if (ended) return;
    ended = true;
    clearTimeout(paceTimer);
    clearTimeout(deadline);
    clearInterval(watchdog);
    finish(why);
  }

  const released = () => {
    open--;
    lastProgress = performance.now();
  };
  const send = (seq: number) => {
    const at = performance.now();
    if (holdsSlot) open++;
    else lastProgress = at;
    hooks.onIssued?.(seq, at);
    client.publish(topic, payloadFor(seq, size), { qos }, (error) => {
      const now = performance.now();
      if (error) {
        failed[seq] = 1;
        errors[error.message] = (errors[error.message] ?? 0) + 1;
      } else {
        acked[seq] = 1;
        ackedCount++;
      }
      if (holdsSlot) released();
      hooks.onSettled?.(seq, now, error);
      refill();
    });
  };
  const pump = () => {
    if (ended) return;
    const now = performance.now();
    while (issued < count && (window === 0 || open < window)) {
      if (qos === 0 && mustDrain()) return;
      // Pacing, not an event to wait for: an unpaced chaos run would end before the first cut.
      const due = rate === undefined ? now : start + (issued * 1000) / rate;
      if (due - now > 1) {
        paceTimer ??= setTimeout(() => {
          paceTimer = undefined;
          pump();
        }, due - now);
        return;
      }
      send(issued++);
    }
    if (issued === count && open === 0) end('complete');
  };
  // QoS 0: MQTT.js calls back a write the socket buffered only on 'drain', adding a once('drain')
  // per publish (with --window 0, thousands: Node's MaxListenersExceededWarning). We wait for that
  // drain ourselves, once, and publish on after it; a socket that closes instead ends the wait too.
  let draining = false;
  const mustDrain = (): boolean => {
    const stream = client.stream;
    if (draining) return true;
    if (!stream.writableNeedDrain || stream.destroyed) return false;
    draining = true;
    const go = () => {
      stream.off('drain', go);
      stream.off('close', go);
      draining = false;
      pump();
    };
    stream.once('drain', go);
    stream.once('close', go);
    return true;
  };
  // Refills once per turn of the event loop, not once per callback: the acks
  // that arrived together are all handled first, and the publishes that replace
  // them go out in one write (measured: QoS 1 about a third faster against
  // mosquitto than refilling from each ack's callback).
  let scheduled = false;
  const refill = () => {
    if (scheduled || ended) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  };

  pump();
  return {
    done,
    get issued() {
      return issued;
    },
    get ackedCount() {
      return ackedCount;
    },
    acked,
    failed,
    errors,
    stop: () => end('stopped'),
  };
}
