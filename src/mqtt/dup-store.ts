// MQTT.js's outgoing store, changed in one way: a PUBLISH that was already on
// the wire comes back out with DUP=1 when MQTT.js resends it after a reconnect.
// [MQTT-3.3.1-1] The DUP flag MUST be set to 1 when the Client or Server
// attempts to re-deliver a PUBLISH packet. Stock MQTT.js resends with DUP=0
// (mqttjs/MQTT.js issue #692).
import type { IStore, MqttClient } from 'mqtt';
import type { Packet } from 'mqtt-packet';
import { Readable } from 'node:stream';

type DoneCallback = (error?: Error) => void;
type StoreStream = ReturnType<IStore['createStream']>;
type PacketCallback = (error?: Error, packet?: Packet) => void;

/** Same contract as MQTT.js's in-memory Store, plus DUP=1 on replayed PUBLISHes. */
export class DupStore implements IStore {
  /** In-flight packets by message id, in the order they were first stored. */
  private readonly inflight = new Map<number, Packet>();
  /** Message ids whose PUBLISH has been written at least once. */
  private readonly written = new Set<number>();

  /** Call for every packet the client writes (its 'packetsend' event). */
  noteSent(packet: Packet): void {
    if (packet.cmd === 'publish' && packet.qos > 0 && packet.messageId !== undefined) this.written.add(packet.messageId);
  }

  put(packet: Packet, cb: DoneCallback): this {
    const id = packet.messageId as number;
    // A new PUBLISH under a reused id has not been written yet: it must go out with DUP=0.
    if (packet.cmd === 'publish') this.written.delete(id);
    this.inflight.set(id, packet);
    cb?.();
    return this;
  }

  get(packet: Pick<Packet, 'messageId'>, cb: PacketCallback): this {
    const stored = this.inflight.get(packet.messageId as number);
    if (stored) cb(undefined, stored);
    else cb(new Error('missing packet'));
    return this;
  }

  del(packet: Pick<Packet, 'messageId'>, cb: PacketCallback): this {
    const id = packet.messageId as number;
    const stored = this.inflight.get(id);
    this.written.delete(id);
    if (!stored) {
      cb?.(new Error('missing packet'));
      return this;
    }
    this.inflight.delete(id);
    cb(undefined, stored);
    return this;
  }

  /** MQTT.js reads this only after a (re)connect, to resend what is in flight. */
  createStream(): StoreStream {
    const snapshot = [...this.inflight.values()].map((p) => (this.isRedelivery(p) ? { ...p, dup: true } : p));
    let next = 0;
    const stream = new Readable({
      objectMode: true,
      read() {
        this.push(next < snapshot.length ? snapshot[next++] : null);
      },
    });
    // MQTT.js types this as readable-stream's Readable; it only calls read(), on() and destroy().
    return stream as unknown as StoreStream;
  }

  close(cb: DoneCallback): void {
    cb?.();
  }

  private isRedelivery(packet: Packet): boolean {
    return packet.cmd === 'publish' && packet.messageId !== undefined && this.written.has(packet.messageId);
  }
}

/** A DupStore wired to a client: it learns which PUBLISHes were written. */
export function attachDupStore(client: MqttClient, store: DupStore): void {
  client.on('packetsend', (packet) => store.noteSent(packet));
}
