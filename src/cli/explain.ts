// The command line's words for an error: the flag or command that would help,
// named as the command the user ran has them (exit codes: errors.ts).
import type { MqttError, Remedy } from '../mqtt/errors';

// Per command (its COMMANDS name): how this process was started (set once by
// runMain), and the flags its parser declared (set by parseRaw). A hint names
// only those flags: the lab has no --cert, the load child no flags at all.
const startedAs = new Map<string, string>();
const declared = new Map<string, ReadonlySet<string>>();

/** Records how the user started `command` (`npx ts-node src/publish.ts`): help and hints say that. */
export function startedAsName(command: string, shown: string): void {
  startedAs.set(command, shown);
}

/** What to call `command` in a help page or a hint: as started, else its documented name. */
export function shownName(command: string): string {
  return startedAs.get(command) ?? command;
}

/** The parser's flags for `command` (long names, without dashes): the only ones its hints may name. */
export function declareFlags(command: string, flags: Iterable<string>): void {
  declared.set(command, new Set(flags));
}

/** The error's own words, then what to change on `command`'s command line (no command: no flag is named). */
export function explain(error: MqttError, command?: string): string {
  const flags = command === undefined ? undefined : declared.get(command);
  return `${error.message}${hint(error.remedy, error.waitedMs, (...names) => names.every((name) => flags?.has(name) ?? false))}`;
}

function hint(remedy: Remedy | undefined, waitedMs: number | undefined, has: (...flags: string[]) => boolean): string {
  switch (remedy) {
    case undefined:
      return '';
    case 'start-broker':
      return `; start one with 'npm run broker'${has('broker') ? ', or point --broker at a running broker' : ''}`;
    case 'check-host':
      // The tools name their broker with -h/-p as often as with --broker.
      return has('host', 'broker') ? '; check -h/--host or --broker' : has('broker') ? '; check --broker' : '';
    case 'trust-ca':
      return has('ca', 'insecure') ? '; pass the CA that signed it with --ca, or --insecure to skip the check' : '';
    case 'host-name':
      return `; connect by a name it lists${has('insecure') ? ', or add --insecure to leave the name unchecked (with --ca the CA is still checked)' : ''}`;
    case 'client-cert':
      return has('cert', 'key') ? ': it wants a client certificate, pass --cert and --key' : ': it wants a client certificate';
    case 'tls-port-or-cert':
      return `: is that port a TLS listener? (a plain one needs mqtt://)${has('cert', 'key') ? ', or does it want a client certificate (--cert, --key)?' : ''}`;
    case 'older-protocol':
      return has('protocol') ? ': it does not speak MQTT 5, try --protocol 3.1.1' : ': it does not speak MQTT 5';
    case 'longer-ack-wait':
      return waitedMs === undefined || !has('ack-timeout') ? '' : ` (--ack-timeout ${waitedMs / 1000})`;
  }
}
