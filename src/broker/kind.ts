// Which broker a command starts on loopback (broker, scenario, chaos, load, lab). Its own module so
// the option parser can name the choices without loading the brokers.
// aedes-cluster: aedes nodes sharing state through a redis-server; mosquitto-bridge: two mosquittos, B bridged to A.
export const BROKER_KINDS = ['aedes', 'mosquitto', 'aedes-cluster', 'mosquitto-bridge'] as const;
export type BrokerKind = (typeof BROKER_KINDS)[number];

/** The engines made of more than one broker: the publisher's leg goes to node A, the subscriber's to node B. */
export const MULTI_NODE: readonly BrokerKind[] = ['aedes-cluster', 'mosquitto-bridge'];

/** Nodes an aedes cluster has unless told (--nodes); a bridge always has two. */
export const DEFAULT_NODES = 2;

/** The mosquitto bridge's QoS unless --bridge-qos says otherwise. */
export const DEFAULT_BRIDGE_QOS = 1;
