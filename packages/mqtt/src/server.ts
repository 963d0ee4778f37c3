import { createServer, type AddressInfo, type Server } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { MqttSessionStore, RetainedStore, type Broker } from '@conveyor/core';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Duplex } from 'node:stream';
import { MqttConnection } from './connection.js';
import type { MqttContext, MqttServerOptions, MqttUser } from './context.js';
import { RC } from './reason-codes.js';
import { SessionRegistry } from './session-registry.js';
import { Transport } from './transport.js';

const DEFAULT_USERS: MqttUser[] = [{ username: 'guest', password: 'guest', loopbackOnly: true }];

/**
 * An MQTT 3.1.1 and 5.0 server over a Conveyor broker: TCP and WebSocket (`/ws`, subprotocol
 * `mqtt`) listeners. Every publish goes to `amq.topic`; every session owns engine queues.
 */
export class MqttServer {
  readonly #broker: Broker;
  readonly #options: MqttServerOptions;
  readonly #connections = new Set<MqttConnection>();
  readonly #servers: (Server | HttpServer)[] = [];
  #wss: WebSocketServer[] = [];
  #context: Promise<MqttContext> | undefined;
  #onBlocked = (): void => {
    for (const c of this.#connections) c.transport.pause('blocked');
  };
  #onUnblocked = (): void => {
    for (const c of this.#connections) c.transport.resume('blocked');
  };

  constructor(broker: Broker, options: MqttServerOptions = {}) {
    this.#broker = broker;
    this.#options = options;
    broker.on('blocked', this.#onBlocked);
    broker.on('unblocked', this.#onUnblocked);
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  #ctx(): Promise<MqttContext> {
    this.#context ??= (async () => {
      const broker = this.#broker;
      const vhost = broker.vhost(this.#options.vhost ?? '/');
      const retained = await RetainedStore.open(broker.store, vhost.vhost);
      const sessions = new SessionRegistry(vhost, new MqttSessionStore(broker.store, vhost.vhost), retained);
      await sessions.restore();
      return {
        broker,
        vhost,
        retained,
        sessions,
        users: this.#options.users ?? DEFAULT_USERS,
        maxPacketBytes: this.#options.maxPacketBytes ?? 16 * 1024 * 1024,
        keepAliveMaxSeconds: this.#options.keepAliveMaxSeconds,
        topicAliasMaximum: this.#options.topicAliasMaximum ?? 64,
        defaultInflight: this.#options.defaultInflight ?? 100,
        receiveMaximum: this.#options.receiveMaximum ?? 1024,
      };
    })();
    return this.#context;
  }

  #accept(ctx: MqttContext, stream: Duplex, remoteAddress: string): void {
    const transport = new Transport(stream, remoteAddress);
    const conn = new MqttConnection(ctx, transport, (c) => this.#connections.delete(c));
    this.#connections.add(conn);
    if (this.#broker.blocked) transport.pause('blocked');
  }

  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    const ctx = await this.#ctx();
    const server = createServer((socket) => this.#accept(ctx, socket, socket.remoteAddress ?? ''));
    return this.#listen(server, port, host);
  }

  async listenWebSocket(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    const ctx = await this.#ctx();
    const http = createHttpServer((_req, res) =>
      res.writeHead(426).end('MQTT over WebSocket: connect to /ws\n'),
    );
    const wss = new WebSocketServer({
      server: http,
      path: '/ws',
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
      maxPayload: ctx.maxPacketBytes + 8,
    });
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      this.#accept(ctx, stream, req.socket.remoteAddress ?? '');
    });
    this.#wss.push(wss);
    return this.#listen(http, port, host);
  }

  #listen(server: Server | HttpServer, port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        this.#servers.push(server);
        resolve(server.address() as AddressInfo);
      });
    });
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
    if (this.#context) await (await this.#context).sessions.closeAll();
  }
}
