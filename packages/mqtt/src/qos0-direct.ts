import type { LocalDelivery, MessageData } from '@conveyor/core';
import { EncodedCopies } from './encoded-copies.js';
import type { MqttSession, SessionLink } from './session.js';

/** Who is publishing right now, so that a congested subscriber can slow it. */
export interface Publisher {
  slowFor(subscriber: SessionLink): void;
}

/**
 * QoS 0 without a queue. A publish on this node (from an MQTT client or any other door) routed
 * to the QoS 0 queue of a session connected here is written to that session's socket at once:
 * no engine entry, no store round trip, no take and ack. The engine's routing is the one match
 * (its route cache gives the queues per topic); the session recovers its subscription options
 * from its own cache.
 *
 * What stays with the queue: a session with no connection (a persistent session between
 * connections: its QoS 0 queue collects from the moment the connection is gone, no gap), copies
 * published on other nodes over a shared store, shared subscriptions, and delayed publishes.
 *
 * Backpressure: a subscriber whose socket is over its high mark slows the MQTT connection that is
 * publishing to it (reading pauses until the socket drains); past `bufferBytes` waiting for the
 * client a copy is dropped and counted, as MQTT allows for QoS 0.
 */
export class Qos0Direct {
  /** QoS 0 copies dropped because the subscriber's socket had `bufferBytes` waiting. */
  dropped = 0;
  /** The MQTT connection whose PUBLISH is being routed (set only while its engine call runs). */
  publisher: Publisher | undefined;
  readonly #sessions = new Map<string, MqttSession>();
  /** The current publish's PUBLISH bytes, shared by its subscribers. */
  readonly copies = new EncodedCopies();

  constructor(readonly bufferBytes: number) {}

  /** The session serves its QoS 0 queue through this door while it has a connection. */
  add(session: MqttSession): void {
    this.#sessions.set(session.ownQueue(0), session);
  }

  remove(session: MqttSession): void {
    const queue = session.ownQueue(0);
    if (this.#sessions.get(queue) === session) this.#sessions.delete(queue);
  }

  readonly deliver: LocalDelivery = (queues, message) => {
    let rest = queues;
    for (let i = 0; i < queues.length; i++) {
      const name = queues[i]!;
      const session = this.#sessions.get(name);
      const outcome = session === undefined ? 'stored' : this.#send(session, message);
      if (outcome === 'stored') {
        if (rest !== queues) (rest as string[]).push(name);
      } else if (rest === queues) rest = queues.slice(0, i);
    }
    return rest;
  };

  #send(session: MqttSession, message: MessageData): 'sent' | 'dropped' | 'stored' {
    const outcome = session.deliverDirect(message, this.bufferBytes, this.copies.use(message));
    if (outcome === 'dropped') this.dropped++;
    const link = session.link;
    if (link?.congested && this.publisher) this.publisher.slowFor(link);
    return outcome;
  }
}
