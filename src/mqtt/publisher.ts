// The publisher's side of a flow: publish and wait until the QoS handshake
// completes (QoS 0: written; QoS 1: PUBACK; QoS 2: PUBCOMP).
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, EXIT } from '../cli/errors';
import type { Connection } from './connection';
import type { QoS } from './qos';
import { reasonText } from './reason-codes';

export interface PublishJob {
  topic: string;
  qos: QoS;
  /** Bytes as read from --file, or the --message text (sent as UTF-8). */
  message: string | Buffer;
  count: number;
  /** Milliseconds between two publishes. */
  interval: number;
  retain: boolean;
}

/** Publishes `count` messages one flow at a time; resolves when the last flow is complete. */
export async function publishAll(conn: Connection, job: PublishJob): Promise<void> {
  for (let i = 0; i < job.count; i++) {
    if (i > 0 && job.interval > 0) await sleep(job.interval);
    try {
      await Promise.race([conn.client.publishAsync(job.topic, job.message, { qos: job.qos, retain: job.retain }), conn.lost]);
    } catch (error) {
      throw publishError(error, i, job.count);
    }
  }
}

function publishError(error: unknown, index: number, count: number): CliError {
  if (error instanceof CliError) return new CliError(`${error.message} during message ${index + 1} of ${count}`, error.exitCode);
  const code = (error as { code?: unknown }).code;
  const why = typeof code === 'number' ? reasonText(code) : (error as Error).message;
  return new CliError(`the broker did not accept message ${index + 1} of ${count}: ${why}`, EXIT.protocol);
}
