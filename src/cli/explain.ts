// The command line's words for a protocol-layer error: the flag or command
// that would help, named as our own tools name them (exit codes: errors.ts).
import type { MqttError, Remedy } from '../mqtt/errors';

/** The error's own words, then what to change on the command line. */
export function explain(error: MqttError): string {
  return `${error.message}${hint(error.remedy, error.waitedMs)}`;
}

function hint(remedy: Remedy | undefined, waitedMs: number | undefined): string {
  switch (remedy) {
    case undefined:
      return '';
    case 'start-broker':
      return `; start one with 'npm run broker', or point --broker at a running broker`;
    case 'check-host':
      return '; check --broker';
    case 'trust-ca':
      return '; pass the CA that signed it with --ca, or --insecure to skip the check';
    case 'client-cert':
      return ': it wants a client certificate, pass --cert and --key';
    case 'tls-port-or-cert':
      return ': is that port a TLS listener? (a plain one needs mqtt://), or does it want a client certificate (--cert, --key)?';
    case 'older-protocol':
      return ': it does not speak MQTT 5, try --protocol 3.1.1';
    case 'longer-ack-wait':
      return waitedMs === undefined ? '' : ` (--ack-timeout ${waitedMs / 1000})`;
  }
}
