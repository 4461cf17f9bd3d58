// What `npm run web` does once its flags are read: serve the page, say where,
// run until Ctrl-C or SIGTERM, then stop the run in flight and the server, exit 130 or 143.
import { startWeb, type WebServer } from '../web/server';
import { CliError, EXIT, errorLine, type ExitCode } from './errors';
import type { Io } from './io';
import { COMMANDS } from './options/parse';
import type { WebCliOptions } from './options/web';
import { closeOrQuit, interrupted, SIGNAL_EXIT } from './signals';

/** Starts the page's server: the tests call this, the command waits for a signal after it. */
export async function openWeb(options: WebCliOptions): Promise<WebServer> {
  try {
    return await startWeb({ ...options, describe: (error) => errorLine(error, COMMANDS.lab) });
  } catch (error) {
    throw listenError(error, options);
  }
}

export async function serveWeb(options: WebCliOptions, io: Io): Promise<ExitCode> {
  const stop = interrupted();
  let server: WebServer;
  try {
    server = await openWeb(options);
  } catch (error) {
    stop.dispose();
    throw error;
  }
  // Said on the one line everyone reads: a page others can reach is a choice, not a default.
  const reach = options.remote ? `; NOT loopback (--allow-remote): other machines can run the lab from it` : '';
  io.out.write(`QoS lab in a browser: open ${server.url}${reach}; each run starts the lab's broker; Ctrl-C stops it\n`);
  const signal = await stop.promise;
  stop.dispose();
  // A second signal while closing quits at once.
  await closeOrQuit(() => server.close());
  io.out.write('web lab stopped\n');
  // The signal's code, 130 or 143, as `npm run web`'s shell reports anyway (npm gets the terminal's SIGINT too) and as npm run broker does.
  return SIGNAL_EXIT[signal];
}

/** A failed listen in the words of the flag that chose it. */
function listenError(error: unknown, options: WebCliOptions): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new CliError(`--port ${options.port} on ${options.host} is in use: is the page already served? Try another --port (0 picks a free one)`, EXIT.usage);
  if (code === 'EACCES') return new CliError(`--port ${options.port}: permission denied (ports below 1024 need privileges): try --port 8080`, EXIT.usage);
  if (code === 'EADDRNOTAVAIL') return new CliError(`--host '${options.host}' is not an address of this machine: serve on one of its own (127.0.0.1, ::1)`, EXIT.usage);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new CliError(`--host '${options.host}': no such host (the resolver does not know it)`, EXIT.usage);
  return error instanceof Error ? error : new Error(String(error));
}
