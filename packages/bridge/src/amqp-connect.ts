import { connect, type Channel, type ChannelModel } from 'amqplib';
import type { LostHandler } from './endpoint.js';
import { BridgeError, describeError, redactUrl } from './errors.js';

/** Connects, or rejects with a one-line BridgeError naming the host and the reason. */
export async function connectAmqp(url: string, what: string, ca?: Buffer): Promise<ChannelModel> {
  try {
    return await connect(url, {
      timeout: 5_000,
      clientProperties: { connection_name: what },
      ...(ca === undefined ? {} : { ca: [ca] }),
    });
  } catch (err) {
    throw new BridgeError(
      'UNREACHABLE',
      `${what}: cannot connect to ${redactUrl(url)}: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
}

/** A 404 from the server (no such queue or exchange) as MISSING_QUEUE; anything else as is. */
export function amqpTargetError(err: unknown, what: string, target: string): Error {
  const text = describeError(err);
  if (/404|NOT_FOUND/.test(text)) {
    return new BridgeError('MISSING_QUEUE', `${what}: ${target} does not exist on the server (${text})`, {
      cause: err,
    });
  }
  return err instanceof Error ? err : new Error(text);
}

const ignore = (): void => undefined;

/**
 * One endpoint's connection and channel: opened with a check of the target, closed cleanly or
 * dropped, and its loss (connection or channel closed by the server) reported once — not when
 * the endpoint closes it itself. `generation` changes with every open and every loss, so
 * deliveries of an older connection are not settled on a newer one.
 */
export class AmqpLink<C extends Channel> {
  #model: ChannelModel | undefined;
  #channel: C | undefined;
  #closing = false;
  #generation = 0;
  #lost: ((err?: Error) => void) | undefined;

  constructor(
    private readonly url: string,
    private readonly what: string,
    private readonly ca?: Buffer,
  ) {}

  get channel(): C | undefined {
    return this.#channel;
  }

  get generation(): number {
    return this.#generation;
  }

  get closing(): boolean {
    return this.#closing;
  }

  async open(
    onLost: LostHandler,
    create: (model: ChannelModel) => Promise<C>,
    prepare: (channel: C) => Promise<void>,
  ): Promise<void> {
    this.#closing = false;
    const generation = ++this.#generation;
    const model = await connectAmqp(this.url, this.what, this.ca);
    this.#model = model;
    const lost = (err?: Error): void => {
      if (this.#closing || generation !== this.#generation) return;
      this.#generation++;
      onLost(new BridgeError('ENDPOINT_LOST', `${this.what} lost: ${err?.message ?? 'connection closed'}`));
    };
    this.#lost = lost;
    model.on('error', ignore); // 'close' follows and reports it
    model.on('close', lost);
    try {
      const channel = await create(model);
      channel.on('error', ignore);
      await prepare(channel);
      channel.on('close', () => lost(new Error('channel closed')));
      this.#channel = channel;
    } catch (err) {
      this.#closing = true;
      await model.close().catch(ignore);
      throw err;
    }
  }

  /** Reports a loss the server signalled otherwise (a consumer it cancelled). */
  lose(err: Error): void {
    this.#lost?.(err);
  }

  async close(): Promise<void> {
    this.#closing = true;
    const model = this.#model;
    this.#model = undefined;
    this.#channel = undefined;
    await model?.close().catch(ignore);
  }

  /** Drops the socket without a close handshake: unacked deliveries return to their queues. */
  abort(): void {
    this.#closing = true;
    const connection = this.#model?.connection as unknown as { stream?: { destroy(): void } } | undefined;
    connection?.stream?.destroy();
    this.#model = undefined;
    this.#channel = undefined;
  }
}
