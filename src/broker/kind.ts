// Which broker a command starts on loopback (broker, scenario, chaos, load). Its own module so
// the option parser can name the choices without loading the brokers.
export const BROKER_KINDS = ['aedes', 'mosquitto'] as const;
export type BrokerKind = (typeof BROKER_KINDS)[number];
