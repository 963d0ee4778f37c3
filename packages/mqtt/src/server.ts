import { createServer, type AddressInfo, type Server } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  createServer as createTlsServer,
  type SecureContextOptions,
  type Server as TlsServer,
} from 'node:tls';
import {
  Authenticator,
  BrokerClosedError,
  GUEST_USER,
  type Broker,
  type TlsListenerOptions,
} from '@conveyor/core';
import {
  certificateIdentity,
  listenOn,
  tlsServerOptions,
  SocketTransport,
  TlsServers,
} from '@conveyor/core/internal';
import { MqttSessionStore } from './store/session-store.js';
import { RetainedStore } from './store/retained-store.js';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Duplex } from 'node:stream';
import { MqttConnection } from './connection.js';
import type { MqttContext, MqttServerOptions } from './context.js';
import { publishMessage } from './publishing.js';
import { RC } from './reason-codes.js';
import { SessionRegistry } from './session-registry.js';
import { DEFAULT_QOS0_BUFFER_BYTES, validateServerOptions } from './server-options.js';
import { Qos0Direct } from './qos0-direct.js';
import { WillLedger } from './will-ledger.js';
import { originAllowed } from './websocket-origin.js';

/** A connection as the management API lists it (a read-only snapshot). */
export interface MqttConnectionInfo {
  /** The client id once connected; before CONNECT, a placeholder with the remote address. */
  id: string;
  protocol: 'mqtt';
  transport: 'tcp' | 'websocket';
  remoteAddress: string;
  clientId: string | undefined;
  /** The user it authenticated as (`guest` when CONNECT named none); undefined before CONNECT. */
  user: string | undefined;
  vhost: string;
  /** MQTT protocol level: 3 (3.1), 4 (3.1.1) or 5. */
  protocolVersion: number;
  /** Topic filters of its session. */
  subscriptions: string[];
  state: string;
  /** ms since the epoch. */
  connectedAt: number;
}

/**
 * An MQTT 3.1.1 and 5.0 server over a Conveyor broker: TCP and WebSocket (`/ws`, subprotocol
 * `mqtt`) listeners. Every publish goes to `amq.topic`; every session owns engine queues.
 */
export class MqttServer {
  readonly #broker: Broker;
  readonly #options: MqttServerOptions;
  readonly #connections = new Set<MqttConnection>();
  readonly #accepted = new WeakMap<MqttConnection, { transport: 'tcp' | 'websocket'; connectedAt: number }>();
  readonly #servers: (Server | HttpServer)[] = [];
  readonly #tls = new TlsServers();
  #wss: WebSocketServer[] = [];
  #context: Promise<MqttContext> | undefined;
  #unwatchNodes: (() => void) | undefined;
  #backgroundErrors = 0;
  #undoDirect: (() => void) | undefined;
  #direct: Qos0Direct | undefined;
  /** The memory alarm: connections are held one by one at their next PUBLISH (MqttConnection). */
  #blocked: boolean;
  #onBlocked = (): void => {
    this.#blocked = true;
  };
  #onUnblocked = (): void => {
    this.#blocked = false;
    for (const c of [...this.#connections]) c.unblocked();
  };

  constructor(broker: Broker, options: MqttServerOptions = {}) {
    validateServerOptions(options);
    this.#broker = broker;
    this.#options = options;
    this.#blocked = broker.blocked;
    broker.on('blocked', this.#onBlocked);
    broker.on('unblocked', this.#onUnblocked);
  }

  /** Failures of background work reported since start (lost races and shutdown not counted). */
  get backgroundErrors(): number {
    return this.#backgroundErrors;
  }

  /** QoS 0 copies dropped because their subscriber had `qos0BufferBytes` waiting (see Qos0Direct). */
  get qos0Dropped(): number {
    return this.#direct?.dropped ?? 0;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** What each open connection is: client id, from where, since when, its subscriptions. */
  connections(): MqttConnectionInfo[] {
    const vhost = this.#options.vhost ?? '/';
    return [...this.#connections].map((c) => {
      const meta = this.#accepted.get(c);
      const connected = c.state.kind === 'connected' ? c.state : undefined;
      return {
        id: connected?.clientId ?? `(connecting ${c.transport.remoteAddress})`,
        protocol: 'mqtt' as const,
        transport: meta?.transport ?? 'tcp',
        remoteAddress: c.transport.remoteAddress ?? '',
        clientId: connected?.clientId,
        user: connected ? c.username : undefined,
        vhost,
        protocolVersion: c.version,
        subscriptions: connected ? [...connected.session.subscriptions.keys()] : [],
        state: c.state.kind,
        connectedAt: meta?.connectedAt ?? 0,
      };
    });
  }

  #ctx(): Promise<MqttContext> {
    this.#context ??= (async () => {
      const broker = this.#broker;
      const vhost = broker.vhost(this.#options.vhost ?? '/');
      const store = broker.store;
      const retained = await RetainedStore.open(store, vhost.vhost);
      const sessionStore = new MqttSessionStore(store, vhost.vhost);
      const report = (err: unknown): void => this.#reportError(err);
      const direct = (this.#direct = new Qos0Direct(
        this.#options.qos0BufferBytes ?? DEFAULT_QOS0_BUFFER_BYTES,
      ));
      const sessions = new SessionRegistry(vhost, sessionStore, retained, report, direct);
      const wills =
        store.cluster !== undefined
          ? new WillLedger(
              store,
              vhost.vhost,
              sessionStore,
              (clientId, will) =>
                publishMessage(
                  ctx,
                  clientId,
                  will.topic,
                  will.payload,
                  will.qos,
                  will.retain,
                  will.properties,
                ),
              report,
            )
          : undefined;
      const ctx: MqttContext = {
        broker,
        vhost,
        retained,
        sessions,
        wills,
        authenticator: this.#authenticator(),
        anonymousUser: this.#anonymousUser(),
        identityAsUsername: this.#options.identityAsUsername ?? false,
        maxPacketBytes: this.#options.maxPacketBytes ?? 16 * 1024 * 1024,
        keepAliveMaxSeconds: this.#options.keepAliveMaxSeconds,
        topicAliasMaximum: this.#options.topicAliasMaximum ?? 64,
        defaultInflight: this.#options.defaultInflight ?? 100,
        receiveMaximum: this.#options.receiveMaximum ?? 1024,
        retainAvailable: this.#options.retainAvailable ?? true,
        direct,
        reportError: report,
        publishersBlocked: () => this.#blocked,
      };
      this.#undoDirect = vhost.deliverLocally(direct.deliver);
      await sessions.restore();
      if (wills) {
        sessions.onClientConnected = (clientId) => wills.clientConnected(clientId);
        // A node left (closed, or found dead): its sessions expire here, its clients' wills go out.
        this.#unwatchNodes = store.cluster?.watchNodes(() => {
          sessions.adoptDeparted().catch(ctx.reportError);
          wills.recover().catch(ctx.reportError);
        });
        await wills.recover();
      }
      return ctx;
    })();
    return this.#context;
  }

  #authenticator(): Authenticator {
    const { authenticator, users } = this.#options;
    return authenticator ?? new Authenticator(users ?? [GUEST_USER]);
  }

  /** Without configured users, anonymous is guest (from loopback only); with them, only as configured. */
  #anonymousUser(): string | undefined {
    const { anonymousUser, users, authenticator } = this.#options;
    if (anonymousUser !== undefined) return anonymousUser;
    return users === undefined && authenticator === undefined ? GUEST_USER.username : undefined;
  }

  #reportError(err: unknown): void {
    // Background work that lost the race with close is not news.
    if (err instanceof BrokerClosedError) return;
    this.#backgroundErrors++;
    if (this.#options.onError) this.#options.onError(err);
    else if (!this.#broker.closed) console.error('[conveyor mqtt]', err);
  }

  #accept(
    ctx: MqttContext,
    stream: Duplex,
    remoteAddress: string,
    kind: 'tcp' | 'websocket',
    peerIdentity?: string,
  ): void {
    if (this.#connections.size >= (this.#options.maxConnections ?? Number.POSITIVE_INFINITY)) {
      // Refused before CONNECT: the connection is dropped, no session is touched.
      stream.on('error', () => undefined);
      stream.destroy();
      return;
    }
    const transport = new SocketTransport(
      stream,
      peerIdentity === undefined ? { remoteAddress } : { remoteAddress, peerIdentity },
    );
    const conn = new MqttConnection(ctx, transport, (c) => this.#connections.delete(c));
    this.#connections.add(conn);
    this.#accepted.set(conn, { transport: kind, connectedAt: Date.now() });
  }

  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    const ctx = await this.#ctx();
    const server = createServer((socket) => this.#accept(ctx, socket, socket.remoteAddress ?? '', 'tcp'));
    return this.#listen(server, port, host);
  }

  async listenWebSocket(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    const ctx = await this.#ctx();
    const http = createHttpServer(upgradeRequired);
    this.#serveWebSocket(ctx, http);
    return this.#listen(http, port, host);
  }

  /** MQTT over TLS (8883); with `verifyClient`, the certificate may name the user (`identityAsUsername`). */
  async listenTls(port: number, host: string, options: TlsListenerOptions): Promise<AddressInfo> {
    const ctx = await this.#ctx();
    const server = createTlsServer(tlsServerOptions(options), (socket) =>
      this.#accept(
        ctx,
        socket,
        socket.remoteAddress ?? '',
        'tcp',
        certificateIdentity(socket, options.identityFrom),
      ),
    );
    this.#tls.add(server, options);
    return this.#listen(server, port, host);
  }

  /** MQTT over secure WebSocket (`wss://…/ws`). */
  async listenWebSocketTls(port: number, host: string, options: TlsListenerOptions): Promise<AddressInfo> {
    const ctx = await this.#ctx();
    const https = createHttpsServer(tlsServerOptions(options), upgradeRequired);
    this.#serveWebSocket(ctx, this.#tls.add(https, options), options);
    return this.#listen(https, port, host);
  }

  /** New certificates for the TLS listeners; open connections keep theirs. */
  setSecureContext(context: SecureContextOptions): void {
    this.#tls.setSecureContext(context);
  }

  #serveWebSocket(ctx: MqttContext, http: HttpServer, tls?: TlsListenerOptions): void {
    const allowed = this.#options.wsAllowedOrigins ?? [];
    const wss = new WebSocketServer({
      server: http,
      path: '/ws',
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
      maxPayload: ctx.maxPacketBytes + 8,
      // A page of another site must not reach the broker through its visitor's browser.
      verifyClient: ({ origin, req }: { origin: string; req: IncomingMessage }) =>
        originAllowed(origin, req.headers.host, allowed),
    });
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      const identity = tls ? certificateIdentity(req.socket, tls.identityFrom) : undefined;
      this.#accept(ctx, stream, req.socket.remoteAddress ?? '', 'websocket', identity);
    });
    this.#wss.push(wss);
  }

  async #listen(server: Server | HttpServer | TlsServer, port: number, host: string): Promise<AddressInfo> {
    const address = await listenOn(server, port, host);
    this.#servers.push(server);
    return address;
  }

  /** Stops listening, tells MQTT 5 clients the server is shutting down, detaches every session. */
  async close(): Promise<void> {
    this.#broker.off('blocked', this.#onBlocked);
    this.#broker.off('unblocked', this.#onUnblocked);
    for (const conn of [...this.#connections]) conn.close(RC.serverShuttingDown, { publishWill: false });
    for (const wss of this.#wss) wss.close();
    await Promise.all(this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.#servers.length = 0;
    this.#wss = [];
    this.#unwatchNodes?.();
    this.#unwatchNodes = undefined;
    this.#undoDirect?.();
    this.#undoDirect = undefined;
    if (this.#context) {
      const ctx = await this.#context;
      await ctx.wills?.settle();
      ctx.wills?.close();
      ctx.retained.close();
      await ctx.sessions.closeAll();
    }
  }
}

function upgradeRequired(_req: IncomingMessage, res: import('node:http').ServerResponse): void {
  res.writeHead(426).end('MQTT over WebSocket: connect to /ws\n');
}
