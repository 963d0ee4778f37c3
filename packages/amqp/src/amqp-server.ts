/** The AMQP 0-9-1 server: a TCP listener whose connections translate frames into engine calls. */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Broker } from '@conveyor/core';
import { AmqpConnection, type ConnectionSettings } from './session/connection.js';
import { DEFAULT_USERS, type AmqpUser } from './session/sasl.js';
import { SocketTransport } from './transport/socket-transport.js';

export type { AmqpUser } from './session/sasl.js';

export interface AmqpServerOptions {
  /** Who may log in. Default guest/guest from loopback only, as RabbitMQ. */
  users?: AmqpUser[];
  /** Largest frame we accept and send. Default 131072 (RabbitMQ's). */
  frameMax?: number;
  /** Highest channel number. Default 2047 (RabbitMQ's). */
  channelMax?: number;
  /** Heartbeat we propose; the client's tune-ok decides. Default 60 s; 0 disables. */
  heartbeatSeconds?: number;
  /** Largest message body accepted. Default: the broker's limit (128 MiB). */
  maxMessageBytes?: number;
  /** Background failures. Default: printed to stderr. */
  onError?: (err: unknown) => void;
}

export class AmqpServer {
  readonly #server: Server;
  readonly #connections = new Set<AmqpConnection>();
  readonly #settings: ConnectionSettings;
  readonly #onBlocked = (): void => this.#setBlocked(true);
  readonly #onUnblocked = (): void => this.#setBlocked(false);

  constructor(
    readonly broker: Broker,
    options: AmqpServerOptions = {},
  ) {
    this.#settings = {
      broker,
      users: options.users ?? DEFAULT_USERS,
      frameMax: options.frameMax ?? 131_072,
      channelMax: options.channelMax ?? 2047,
      heartbeatSeconds: options.heartbeatSeconds ?? 60,
      maxMessageBytes: options.maxMessageBytes ?? 128 * 1024 * 1024,
      maxPendingPublishes: 4096,
      handshakeTimeoutMs: 10_000,
      closeTimeoutMs: 2_000,
      onClosed: (c) => this.#connections.delete(c),
      onError: options.onError ?? ((err: unknown) => console.error('[conveyor amqp]', err)),
    };
    this.#server = createServer((socket) => this.#accept(socket));
    broker.on('blocked', this.#onBlocked);
    broker.on('unblocked', this.#onUnblocked);
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  listen(port: number, host?: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /** Stops listening and closes every connection with 320 CONNECTION_FORCED. */
  async close(): Promise<void> {
    this.broker.off('blocked', this.#onBlocked);
    this.broker.off('unblocked', this.#onUnblocked);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.all([...this.#connections].map((c) => c.forceClose()));
    await closed;
  }

  #accept(socket: Socket): void {
    const transport = new SocketTransport(socket);
    const connection = new AmqpConnection(transport, this.#settings);
    this.#connections.add(connection);
    socket.on('data', (chunk: Buffer) => connection.receive(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => connection.transportClosed());
  }

  #setBlocked(blocked: boolean): void {
    for (const c of this.#connections) c.setBlocked(blocked);
  }
}
