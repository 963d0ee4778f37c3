/** The AMQP 0-9-1 server: a TCP listener whose connections translate frames into engine calls. */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Broker } from '@conveyor/core';
import { AmqpConnection, type ConnectionSettings } from './session/connection.js';
import { DEFAULT_USERS, type AmqpUser } from './session/sasl.js';
import { SocketTransport } from './transport/socket-transport.js';

export type { AmqpUser } from './session/sasl.js';

/** A connection as the management API lists it (a read-only snapshot). */
export interface AmqpConnectionInfo {
  /** The connection's owner id (what its exclusive queues and consumers are tied to). */
  id: string;
  protocol: 'amqp';
  remoteAddress: string | undefined;
  /** Empty until the client has authenticated. */
  user: string;
  /** Set once connection.open succeeded. */
  vhost: string | undefined;
  /** Open channels. */
  channels: number;
  state: string;
  /** ms since the epoch. */
  connectedAt: number;
}

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
  /** Connections beyond this are closed at once, before the handshake. Default: no limit. */
  maxConnections?: number;
}

export class AmqpServer {
  readonly #server: Server;
  readonly #connections = new Map<
    AmqpConnection,
    { remoteAddress: string | undefined; connectedAt: number }
  >();
  readonly #settings: ConnectionSettings;
  readonly #maxConnections: number;
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
    this.#maxConnections = options.maxConnections ?? Number.POSITIVE_INFINITY;
    this.#server = createServer((socket) => this.#accept(socket));
    broker.on('blocked', this.#onBlocked);
    broker.on('unblocked', this.#onUnblocked);
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** What each open connection is: who, from where, since when. */
  connections(): AmqpConnectionInfo[] {
    return [...this.#connections].map(([c, meta]) => ({
      id: c.owner,
      protocol: 'amqp' as const,
      remoteAddress: meta.remoteAddress,
      user: c.username,
      vhost: c.state === 'open' ? c.vhost.vhost : undefined,
      channels: c.channelCount,
      state: c.state,
      connectedAt: meta.connectedAt,
    }));
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
    await Promise.all([...this.#connections.keys()].map((c) => c.forceClose()));
    await closed;
  }

  #accept(socket: Socket): void {
    if (this.#connections.size >= this.#maxConnections) {
      // Refused before the protocol header: a plain TCP close the client reports as such.
      socket.on('error', () => socket.destroy());
      socket.end();
      return;
    }
    const transport = new SocketTransport(socket);
    const connection = new AmqpConnection(transport, this.#settings);
    this.#connections.set(connection, { remoteAddress: socket.remoteAddress, connectedAt: Date.now() });
    socket.on('data', (chunk: Buffer) => connection.receive(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => connection.transportClosed());
  }

  #setBlocked(blocked: boolean): void {
    for (const c of this.#connections.keys()) c.setBlocked(blocked);
  }
}
