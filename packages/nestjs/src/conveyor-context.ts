import type { Headers, MessageProperties } from '@conveyor/core';
import { BaseRpcContext } from '@nestjs/microservices';
import type { InboundMessage, SettleOptions } from './link/link.js';

/** What `@Ctx()` gives a Conveyor handler: the message's metadata and, for manual mode, its settlement. */
export class ConveyorContext extends BaseRpcContext<[InboundMessage, string]> {
  #settled = false;

  constructor(message: InboundMessage, pattern: string) {
    super([message, pattern]);
  }

  get message(): InboundMessage {
    return this.args[0];
  }

  /** The queue (or subscription queue) it came from. */
  get queue(): string {
    return this.message.queue;
  }

  getPattern(): string {
    return this.args[1];
  }

  get headers(): Headers {
    return this.message.headers;
  }

  get properties(): MessageProperties {
    return this.message.properties;
  }

  get messageId(): string | undefined {
    return this.message.properties.messageId;
  }

  get correlationId(): string | undefined {
    return this.message.properties.correlationId;
  }

  /** Deliveries so far, this one included. */
  get deliveryCount(): number {
    return this.message.deliveryCount;
  }

  /** W3C trace context of the sender, when it sent one. */
  get traceparent(): string | undefined {
    const value = this.message.headers['traceparent'];
    return typeof value === 'string' ? value : undefined;
  }

  get settled(): boolean {
    return this.#settled;
  }

  ack(): Promise<void> {
    return this.#settle(() => this.message.ack());
  }

  nack(options?: SettleOptions): Promise<void> {
    return this.#settle(() => this.message.nack(options));
  }

  deadLetter(reason: string): Promise<void> {
    return this.#settle(() => this.message.deadLetter(reason));
  }

  #settle(action: () => Promise<void>): Promise<void> {
    if (this.#settled) return Promise.resolve();
    this.#settled = true;
    return action();
  }
}
