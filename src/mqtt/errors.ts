// What went wrong below the command line, as the protocol layer knows it: a
// kind and the facts, in words about brokers and packets. Which flag or command
// would help is the command line's to say (src/cli/explain.ts), and so is the exit code.

export type MqttErrorKind =
  /** No usable connection came about: nothing listening, unknown host, TLS failure, a reconnect budget spent. */
  | 'unreachable'
  /** The broker answered CONNACK with a refusal. */
  | 'refused'
  /** A bounded wait ran out: a CONNACK, an acknowledgement, a PINGRESP. */
  | 'timeout'
  /** The connection ended under us, mid-flow. */
  | 'lost'
  /** The broker broke an MQTT rule. */
  | 'violation'
  /** The broker refused a subscription or a publish. */
  | 'rejected';

/** What the user could change about the attempt; the command line words it with its own flag names. */
export type Remedy =
  /** Nothing listens there: start a broker, or point at one. */
  | 'start-broker'
  /** The host name did not resolve. */
  | 'check-host'
  /** The broker's certificate is not signed by a CA we trust. */
  | 'trust-ca'
  /** The broker's certificate is trusted but names another host. */
  | 'host-name'
  /** The broker wants a client certificate. */
  | 'client-cert'
  /** A TLS handshake dropped: a plain port, or a client certificate wanted. */
  | 'tls-port-or-cert'
  /** An MQTT 5 CONNECT refused as an unknown protocol version. */
  | 'older-protocol'
  /** An acknowledgement did not come within the wait we were given (`waitedMs`). */
  | 'longer-ack-wait';

export class MqttError extends Error {
  constructor(
    readonly kind: MqttErrorKind,
    message: string,
    readonly remedy?: Remedy,
    /** For a timeout: how long we waited, in milliseconds. */
    readonly waitedMs?: number,
  ) {
    super(message);
    this.name = 'MqttError';
  }

  /** The same error with more words about where or why it happened, appended as they are. */
  adding(words: string): MqttError {
    return new MqttError(this.kind, `${this.message}${words}`, this.remedy, this.waitedMs);
  }
}

/**
 * A feature's own input cannot be used: a tool that is not installed, a build
 * that is missing. Not the broker's doing; the command line exits as for a bad option.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}
