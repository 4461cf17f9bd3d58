// A broker that breaks the QoS promises on purpose, for the probe's tests: it
// grants QoS 1 for a QoS 2 subscription, answers a QoS 2 PUBLISH with PUBACK,
// sends unacknowledged PUBLISHes again with DUP=0 when a session resumes, and
// keeps no offline queue (a message for a client that is away is dropped; an
// MQTT 5 publisher is told so in its PUBACK: 0x10 no matching subscribers).
// Built on hostileBroker's overrides; everything else it answers correctly.
import type { TestContext } from 'node:test';
import type { Packet } from 'mqtt-packet';
import { hostileBroker, topicMatches, type HostileBroker, type HostileConnection } from './hostile-broker';

type Publish = Extract<Packet, { cmd: 'publish' }>;

interface Session {
  subs: { filter: string; qos: 0 | 1 | 2 }[];
  conn: HostileConnection | null;
  /** PUBLISHes sent and not yet acknowledged, by packet id. */
  unacked: Map<number, Publish>;
}

export async function misbehavingBroker(t: TestContext): Promise<HostileBroker> {
  const sessions = new Map<string, Session>();
  let nextId = 1;
  const sessionOf = (conn: HostileConnection) => sessions.get(conn.clientId);
  return hostileBroker(t, {
    on: {
      connect: (p, conn) => {
        if (p.cmd !== 'connect') return false;
        const old = sessions.get(p.clientId);
        const resumed = old !== undefined && !p.clean;
        const session: Session = resumed ? old : { subs: [], conn: null, unacked: new Map() };
        session.conn = conn;
        sessions.set(p.clientId, session);
        conn.send(conn.protocolVersion === 5 ? ({ cmd: 'connack', sessionPresent: resumed, reasonCode: 0 } as Packet) : ({ cmd: 'connack', sessionPresent: resumed, returnCode: 0 } as Packet));
        // Resent as they were first sent: DUP=0 (it must be 1 [MQTT-3.3.1-1]).
        for (const publish of session.unacked.values()) conn.send({ ...publish, dup: false });
        return true;
      },
      subscribe: (p, conn) => {
        if (p.cmd !== 'subscribe') return false;
        const session = sessionOf(conn)!;
        const granted = p.subscriptions.map((s) => Math.min(s.qos, 1) as 0 | 1);
        p.subscriptions.forEach((s, i) => session.subs.push({ filter: s.topic, qos: granted[i]! }));
        conn.send({ cmd: 'suback', messageId: p.messageId, granted } as Packet);
        return true;
      },
      publish: (p, conn) => {
        if (p.cmd !== 'publish') return false;
        let delivered = 0;
        for (const session of sessions.values()) {
          const sub = session.subs.find((s) => topicMatches(s.filter, p.topic));
          // No offline queue: a session whose client is away gets nothing.
          if (!sub || !session.conn) continue;
          delivered++;
          const qos = Math.min(p.qos, sub.qos) as 0 | 1 | 2;
          const out = { cmd: 'publish', topic: p.topic, payload: p.payload, qos, dup: false, retain: false, ...(qos > 0 && { messageId: (nextId = (nextId % 65535) + 1) }) } as Publish;
          if (qos > 0) session.unacked.set(out.messageId!, out);
          session.conn.send(out);
        }
        // PUBACK for QoS 2 too; over MQTT 5 it says when the message went to nobody (0x10 no matching subscribers).
        if (p.qos > 0) conn.send({ cmd: 'puback', messageId: p.messageId, ...(conn.protocolVersion === 5 && delivered === 0 && { reasonCode: 0x10 }) } as Packet);
        return true;
      },
      puback: (p, conn) => {
        if (p.cmd === 'puback') sessionOf(conn)?.unacked.delete(p.messageId!);
        return true;
      },
      pubrec: (p, conn) => {
        if (p.cmd === 'pubrec') sessionOf(conn)?.unacked.delete(p.messageId!);
        return false; // the default answer: PUBREL
      },
      disconnect: (_p, conn) => {
        const session = sessionOf(conn);
        if (session?.conn === conn) session.conn = null;
        return false; // the default: close
      },
    },
  });
}
