// A one-line progress bar on a terminal (stderr, redrawn in place); nothing
// when stderr is not a terminal, so piped or --json output stays clean.
import type { RunProgress } from './run';

export interface Progress {
  update(label: string, total: number, p: RunProgress): void;
  done(): void;
}

const WIDTH = 30;

export function progressBar(stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => undefined, done: () => undefined };
  let drawn = false;
  return {
    update: (label, total, p) => {
      const filled = Math.round((p.received / total) * WIDTH);
      stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${p.received}/${total} delivered, ${p.published} published\x1b[K`);
      drawn = true;
    },
    done: () => {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
