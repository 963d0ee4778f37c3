import type { Headers, MessageProperties } from '@conveyor/core';
import { BaseRpcContext } from '@nestjs/microservices';
import type { InboundMessage, SettleOptions } from './link/link.js';

/** What `@Ctx()` gives a Conveyor handler: the message's metadata and, for manual mode, its settlement. */
export class ConveyorContext extends BaseRpcContext<[InboundMessage, string]> {
  #settled = false;
  readonly #abort = new AbortController();

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

  /**
   * Aborted when the message is no longer the handler's: handed back at the shutdown deadline, or
   * its lease could not be renewed. Another consumer may then get it; a long handler should stop
   * (pass it to fetch, or check `signal.aborted` between steps). `signal.reason` says why.
   */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** @internal The transport took the message back from the handler. */
  abandon(reason: string): void {
    if (!this.#abort.signal.aborted) this.#abort.abort(new Error(reason));
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
