/** The AMQP 0-9-1 server: a TCP listener whose connections translate frames into engine calls. */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  createServer as createTlsServer,
  type SecureContextOptions,
  type Server as TlsServer,
} from 'node:tls';
import { Authenticator, type Broker, type TlsListenerOptions } from '@conveyor/core';
import { certificateIdentity, listenOn, tlsServerOptions, TlsServers } from '@conveyor/core/internal';
import { AmqpConnection, type ConnectionSettings } from './session/connection.js';
import { DEFAULT_USERS, type AmqpUser } from './session/sasl.js';
import { SocketTransport } from '@conveyor/core/internal';

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
  /** One login check shared with other doors (takes the place of `users`). */
  authenticator?: Authenticator;
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
  readonly #servers: (Server | TlsServer)[] = [];
  readonly #tls = new TlsServers();
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
      authenticator: options.authenticator ?? new Authenticator(options.users ?? DEFAULT_USERS),
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
    return listenOn(this.#server, port, host);
  }

  /** AMQPS: the same connections over TLS; with `verifyClient`, SASL EXTERNAL is offered too. */
  listenTls(port: number, host: string | undefined, options: TlsListenerOptions): Promise<AddressInfo> {
    // A failed handshake (wrong version, no client certificate) only destroys that socket.
    const server = createTlsServer(tlsServerOptions(options), (socket) =>
      this.#accept(socket, certificateIdentity(socket, options.identityFrom)),
    );
    this.#servers.push(this.#tls.add(server, options));
    return listenOn(server, port, host);
  }

  /** New certificates for the TLS listeners; open connections keep theirs. */
  setSecureContext(context: SecureContextOptions): void {
    this.#tls.setSecureContext(context);
  }

  /** Stops listening and closes every connection with 320 CONNECTION_FORCED. */
  async close(): Promise<void> {
    this.broker.off('blocked', this.#onBlocked);
    this.broker.off('unblocked', this.#onUnblocked);
    const servers = [this.#server, ...this.#servers].filter((s) => s.listening);
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await Promise.all([...this.#connections.keys()].map((c) => c.forceClose()));
    await closed;
  }

  #accept(socket: Socket, peerIdentity?: string): void {
    if (this.#connections.size >= this.#maxConnections) {
      // Refused before the protocol header: a plain TCP close the client reports as such.
      socket.on('error', () => socket.destroy());
      socket.end();
      return;
    }
    const transport = new SocketTransport(socket, peerIdentity === undefined ? {} : { peerIdentity });
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
