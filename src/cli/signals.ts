// Ctrl-C as a value to race against: the tools finish politely (DISCONNECT)
// and exit 130 instead of dying mid-handshake.

export const INTERRUPTED = Symbol('interrupted');

export function interrupted(): { promise: Promise<typeof INTERRUPTED>; dispose(): void } {
  let onSignal: () => void = () => undefined;
  const promise = new Promise<typeof INTERRUPTED>((resolve) => {
    onSignal = () => resolve(INTERRUPTED);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
