import type { MessageData } from '@conveyor/core';
import { routingKeyToTopic } from './topics.js';

/**
 * One publish's plain PUBLISH (QoS 0, no properties) as the subscribers served straight from it
 * need it: encoded once per protocol family (3.1/3.1.1 or 5.0) and retain flag, not once per
 * subscriber. When the received PUBLISH is itself such a packet (QoS 0, no DUP, no alias, no
 * properties), its bytes are forwarded as they are.
 */
export class EncodedCopies {
  #message: MessageData | undefined;
  /** The MQTT topic of the current message (its routing key swapped back once). */
  topic = '';
  /** Indexed by (v5 ? 1 : 0) | (retain ? 2 : 0). */
  readonly #bytes: (Buffer | undefined)[] = [undefined, undefined, undefined, undefined];
  #received: { frame: Buffer; v5: boolean; retain: boolean } | undefined;

  /** The PUBLISH about to be routed arrived as `frame`, which a subscriber may get unchanged. */
  received(frame: Buffer, v5: boolean, retain: boolean): void {
    this.#received = { frame, v5, retain };
  }

  /** The routing of the received PUBLISH is over (its frame must not serve another message). */
  routed(): void {
    this.#received = undefined;
  }

  /** Starts on `message` unless it is the current one. */
  use(message: MessageData): this {
    if (message === this.#message) return this;
    this.#message = message;
    this.topic = routingKeyToTopic(message.routingKey);
    this.#bytes.fill(undefined);
    const received = this.#received;
    this.#received = undefined;
    if (received) this.set(received.v5, received.retain, received.frame);
    return this;
  }

  get(v5: boolean, retain: boolean): Buffer | undefined {
    return this.#bytes[(v5 ? 1 : 0) | (retain ? 2 : 0)];
  }

  set(v5: boolean, retain: boolean, bytes: Buffer): void {
    this.#bytes[(v5 ? 1 : 0) | (retain ? 2 : 0)] = bytes;
  }
}
