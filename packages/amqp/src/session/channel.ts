/**
 * One AMQP channel: its state, a serial task queue (methods take effect in arrival order even though the
 * engine is asynchronous), delivery tags, consumers, unacked deliveries, and confirm/tx mode.
 * The per-class method handlers live in ./methods/ behind `dispatchChannelCommand`.
 */
import { type ConsumerHandle, type Delivery, type Principal, type VirtualHost } from '@conveyor/core';
import { CreditWindow } from '@conveyor/core/internal';
import {
  createMethod,
  encodeDeliver,
  type AmqpMethod,
  type ContentCommand,
  type MethodCommand,
  ReplyCode,
} from '../codec/index.js';
import { ConfirmTracker } from './confirm-tracker.js';
import { deliveryProperties } from './delivery-properties.js';
import { dispatchChannelCommand } from './methods/dispatch.js';
import { AmqpProtocolError, toReply, type MethodRef, type Reply } from './protocol-error.js';
import type { ClientCapabilities } from './server-properties.js';

/** What a channel needs from its connection. */
export interface ChannelHost {
  readonly vhost: VirtualHost;
  /** Owner id of this connection (exclusive queues, releaseOwner). */
  readonly owner: string;
  readonly username: string;
  /** What the user may do: every method checks its permission here first. */
  readonly access: Principal;
  readonly frameMax: number;
  readonly capabilities: ClientCapabilities;
  send(bytes: Buffer): void;
  sendMethod(channel: number, method: AmqpMethod): void;
  closeConnection(reply: Reply, ref: MethodRef): void;
  /** A publish is in flight (flow control) until the matching `publishSettled`. */
  publishStarted(): void;
  publishSettled(): void;
  /** The channel number is free again. */
  channelClosed(channel: number): void;
  /** The socket's write buffer is over its high watermark: consumers stay paused until it drains. */
  readonly writePressure: boolean;
  backgroundError(err: unknown): void;
}

export type ChannelState =
  | { kind: 'open' }
  /** The client sent channel.close: queued methods still run, nothing new is delivered. */
  | { kind: 'peer-closing' }
  /** We sent channel.close and wait for close-ok; everything else from the client is dropped. */
  | { kind: 'closing' }
  | { kind: 'closed' };

export interface ConsumerEntry {
  tag: string;
  handle: ConsumerHandle;
  noAck: boolean;
}

/** A settlement or publish held back until tx.commit. */
export type TxOp = () => Promise<void>;

export type ChannelMode =
  | { kind: 'plain' }
  | { kind: 'confirm'; tracker: ConfirmTracker }
  | { kind: 'tx'; ops: TxOp[]; settled: Map<number, Delivery> };

export class AmqpChannel {
  state: ChannelState = { kind: 'open' };
  mode: ChannelMode = { kind: 'plain' };
  /** The queue named by the last queue.declare: what an empty queue name means. */
  lastQueue: string | undefined;
  /** basic.qos global=false: applies to consumers created afterwards. */
  prefetch = 0;
  /** basic.qos global=true: shared by every consumer of the channel. */
  readonly window = new CreditWindow(0);
  readonly consumers = new Map<string, ConsumerEntry>();
  /** Delivery tag → delivery, in tag order. */
  readonly unacked = new Map<number, Delivery>();
  /** This channel's direct reply-to queue, once it consumes from amq.rabbitmq.reply-to. */
  replyQueue: string | undefined;
  /** A confirm-mode publish failed in the store and none has succeeded since (reported once). */
  storeFailing = false;
  #deliveryTag = 0;
  #tail: Promise<void> = Promise.resolve();
  /** Acks under way: later methods do not wait for them, teardown and `settled` do. */
  readonly #acking = new Set<Promise<void>>();
  /** Tasks chained on #tail and not yet finished. */
  #queued = 0;
  /** Cancel notices held back while this channel's own queue.delete runs (see holdCancelNotices). */
  #heldCancels: string[] | undefined;

  /** Fixed at open: teardown still needs it after the connection left its open state. */
  readonly vhost: VirtualHost;

  constructor(
    readonly number: number,
    readonly host: ChannelHost,
  ) {
    this.vhost = host.vhost;
  }

  /** Queues a command behind the ones before it. */
  handle(cmd: MethodCommand | ContentCommand): void {
    this.#enqueue(cmd.method, () => dispatchChannelCommand(this, cmd));
  }

  #enqueue(ref: MethodRef, task: () => Promise<void> | void): void {
    // Nothing queued: run now, and queue behind it only if it went asynchronous. Same order as always
    // chaining, without two promises and a microtask turn per publish (the hot path).
    if (this.#queued === 0) {
      void this.#run(ref, task);
      return;
    }
    this.#queued++;
    this.#tail = this.#tail.then(() => {
      this.#queued--;
      return this.#run(ref, task);
    });
  }

  #run(ref: MethodRef, task: () => Promise<void> | void): Promise<void> | undefined {
    if (this.state.kind !== 'open' && this.state.kind !== 'peer-closing') return;
    let result: Promise<void> | void;
    try {
      result = task();
    } catch (err) {
      this.fail(err, ref);
      return;
    }
    if (!(result instanceof Promise)) return;
    const settled = result.catch((err: unknown) => this.fail(err, ref));
    // Later commands wait for this one: chain them behind it.
    this.#queued++;
    this.#tail = this.#tail.then(() => settled).then(() => void this.#queued--);
    return settled;
  }

  sendMethod(method: AmqpMethod): void {
    this.host.sendMethod(this.number, method);
  }

  nextDeliveryTag(): number {
    return ++this.#deliveryTag;
  }

  /** A push delivery from the engine (or a basic.get result when `getCount` is given). */
  deliver(consumerTag: string, delivery: Delivery, noAck: boolean): void {
    const tag = this.nextDeliveryTag();
    // Kept even when not written: teardown must hand it back.
    if (!noAck) this.unacked.set(tag, delivery);
    if (this.state.kind !== 'open') return;
    const { message } = delivery;
    const args = {
      consumerTag,
      deliveryTag: tag,
      redelivered: delivery.redelivered,
      exchange: message.exchange,
      routingKey: message.routingKey,
    };
    this.host.send(
      encodeDeliver(this.number, args, deliveryProperties(delivery), message.body, this.host.frameMax),
    );
  }

  /** The engine ended a consumer: tell the client (consumer_cancel_notify), or close the channel on a timeout. */
  consumerEnded(tag: string, reason: string): void {
    if (this.consumers.get(tag)?.tag !== tag) return;
    this.consumers.delete(tag);
    if (this.state.kind !== 'open') return;
    if (reason === 'timeout') {
      this.closeWith(
        toReply(
          new AmqpProtocolError(
            ReplyCode.PRECONDITION_FAILED,
            `delivery acknowledgement on channel ${this.number} timed out`,
          ),
        ),
        { classId: 0, methodId: 0 },
      );
    } else if (this.#heldCancels !== undefined) {
      this.#heldCancels.push(tag);
    } else this.#notifyCancel(tag);
  }

  #notifyCancel(tag: string): void {
    if (this.state.kind === 'open' && this.host.capabilities.consumerCancelNotify)
      this.sendMethod(createMethod('basic.cancel', { consumerTag: tag, nowait: true }));
  }

  /**
   * While this channel deletes a queue it consumes from, the consumers' basic.cancel goes after
   * queue.delete-ok, as RabbitMQ orders them: py-amqp fails inside queue_delete otherwise.
   */
  holdCancelNotices(): void {
    this.#heldCancels ??= [];
  }

  releaseCancelNotices(): void {
    const tags = this.#heldCancels ?? [];
    this.#heldCancels = undefined;
    for (const tag of tags) this.#notifyCancel(tag);
  }

  /** Any failure while handling a method: close the channel or the connection, as its reply code says. */
  fail(err: unknown, ref: MethodRef): void {
    const reply = toReply(err);
    if (reply.replyCode === 541) this.host.backgroundError(err);
    if (reply.scope === 'connection') this.host.closeConnection(reply, ref);
    else this.closeWith(reply, ref);
  }

  /** Server-initiated channel.close. */
  closeWith(reply: Reply, ref: MethodRef): void {
    if (this.state.kind === 'closing' || this.state.kind === 'closed') return;
    this.state = { kind: 'closing' };
    this.sendMethod(
      createMethod('channel.close', {
        replyCode: reply.replyCode,
        replyText: reply.replyText,
        classId: ref.classId,
        methodId: ref.methodId,
      }),
    );
    this.teardown().catch((err: unknown) => this.host.backgroundError(err));
  }

  /** The client's close-ok to our channel.close. */
  closeOk(): void {
    if (this.state.kind !== 'closing') return;
    this.state = { kind: 'closed' };
    this.host.channelClosed(this.number);
  }

  /** The client's channel.close: finish what is queued, release everything, then close-ok. */
  peerClose(): void {
    if (this.state.kind === 'closing') {
      // Both sides closed at once: answer, and the channel is gone.
      this.sendMethod(createMethod('channel.close-ok', {}));
      this.state = { kind: 'closed' };
      this.host.channelClosed(this.number);
      return;
    }
    this.state = { kind: 'peer-closing' };
    this.#queued++;
    this.#tail = this.#tail.then(async () => {
      await this.teardown();
      this.#queued--;
      if (this.state.kind !== 'peer-closing') return;
      this.sendMethod(createMethod('channel.close-ok', {}));
      this.state = { kind: 'closed' };
      this.host.channelClosed(this.number);
    });
  }

  /** Cancels consumers and returns every unacked delivery to its queue (RabbitMQ requeues on close). */
  async teardown(): Promise<void> {
    const { vhost } = this;
    // Acks first: what they settled must not be requeued below.
    await Promise.all(this.#acking);
    const consumers = [...this.consumers.values()];
    this.consumers.clear();
    // Paused, not yet cancelled, while what they hold goes back to its places in the queue:
    // cancelling first would let another consumer (a single active consumer's successor) take
    // newer messages before these are back ahead of them.
    for (const c of consumers) c.handle.pause();
    if (this.mode.kind === 'tx') {
      for (const [tag, d] of this.mode.settled) this.unacked.set(tag, d);
      this.mode.ops.length = 0;
      this.mode.settled.clear();
    }
    await this.#requeueUnacked();
    for (const c of consumers) await c.handle.cancel({ release: false }).catch(() => undefined);
    // What a take under way at the pause handed out afterwards.
    await this.#requeueUnacked();
    if (this.replyQueue !== undefined) {
      const name = this.replyQueue;
      this.replyQueue = undefined;
      if (vhost.hasQueue(name))
        await vhost.deleteQueue(name, { owner: this.host.owner }).catch(() => undefined);
    }
  }

  /** Every unacked delivery back to its queue, in delivery-tag order (RabbitMQ requeues on close). */
  async #requeueUnacked(): Promise<void> {
    const held = [...this.unacked.entries()].sort((a, b) => a[0] - b[0]).map(([, d]) => d);
    this.unacked.clear();
    for (const d of held) {
      if (this.vhost.hasQueue(d.queue)) await this.vhost.nack(d, { requeue: true }).catch(() => undefined);
    }
  }

  /**
   * Runs an ack without holding up the methods after it: each is a store round trip (over a
   * shared store, a network one), and a consumer acking one message at a time would otherwise
   * wait that long per message. Its store call is already issued, so later ones from this node
   * come after it; a failure still closes the channel.
   */
  settleInBackground(work: Promise<void>, ref: MethodRef): void {
    const running: Promise<void> = work
      .catch((err: unknown) => this.fail(err, ref))
      .finally(() => this.#acking.delete(running));
    this.#acking.add(running);
  }

  /** Resolves when every queued method and every ack under way has run (tests, connection close). */
  async settled(): Promise<void> {
    await this.#tail;
    await Promise.all(this.#acking);
  }
}
