// The management HTTP server: JSON API under /api (HTTP Basic), Prometheus text at /metrics (no
// auth, like RabbitMQ's prometheus endpoint), and the dashboard's static files everywhere else.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mayUseVhost } from '@conveyor/core';
import type { BrokerUser } from '../config.js';
import { overviewRoutes } from './api-overview.js';
import { deliveryRoutes } from './api-deliveries.js';
import { queueRoutes } from './api-queues.js';
import type { ApiContext } from './api-context.js';
import { authenticate } from './auth.js';
import { errorResponse, HttpError } from './http-errors.js';
import { decodeSegments, matchRoute, readJsonBody, type Route } from './router.js';
import { dashboardDirectory, staticFile } from './static-files.js';

export interface ManagementServerOptions {
  users: readonly BrokerUser[];
  /** Largest request body; sized for a base64 message of the broker's largest size. */
  maxBodyBytes: number;
  /** Failures that are not the client's fault (500s). */
  onError: (err: unknown) => void;
}

export class ManagementServer {
  readonly #server: Server;
  readonly #routes: Route[];
  readonly #dashboard = dashboardDirectory();

  constructor(
    private readonly ctx: ApiContext,
    private readonly options: ManagementServerOptions,
  ) {
    this.#routes = [...overviewRoutes(ctx), ...queueRoutes(ctx), ...deliveryRoutes(ctx)];
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => this.#send(res, errorResponse(err)));
    });
    this.#server.keepAliveTimeout = 5_000;
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

  async close(): Promise<void> {
    this.ctx.deliveries.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    if (url.pathname === '/metrics' && method === 'GET') {
      const registry = this.ctx.metrics.registry;
      const text = await registry.metrics();
      res.writeHead(200, { 'Content-Type': registry.contentType }).end(text);
      return;
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      await this.#api(req, res, url, method);
      return;
    }
    await this.#static(res, url.pathname, method);
  }

  async #api(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    let aborted = false;
    res.on('close', () => (aborted = !res.writableFinished));
    try {
      const user = authenticate(this.options.users, req.headers.authorization, req.socket.remoteAddress);
      // Raw segments: `%2F` must decode to a vhost `/`, not split the path.
      const segments = decodeSegments(url.pathname);
      const { handler, params } = matchRoute(this.#routes, method, segments);
      const mayUse = (vhost: string | undefined): boolean =>
        vhost === undefined ? user.vhosts === undefined : mayUseVhost(user, vhost);
      if (params.vhost !== undefined && !mayUse(params.vhost))
        throw new HttpError(403, 'FORBIDDEN', `user '${user.username}' may not use vhost '${params.vhost}'`);
      const result = await handler({
        method,
        params,
        query: url.searchParams,
        body: () => readJsonBody(req, this.options.maxBodyBytes),
        aborted: () => aborted,
        mayUse,
      });
      this.#send(res, { status: result.status ?? 200, body: result.body, headers: {} });
    } catch (err) {
      const response = errorResponse(err);
      if (response.status >= 500 && !(err instanceof HttpError)) this.options.onError(err);
      // Drain an unread body so the connection can be reused.
      req.resume();
      this.#send(res, response);
    }
  }

  async #static(res: ServerResponse, pathname: string, method: string): Promise<void> {
    if (method !== 'GET' && method !== 'HEAD')
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here`);
    const file = this.#dashboard === undefined ? undefined : await staticFile(this.#dashboard, pathname);
    if (!file) throw new HttpError(404, 'NOT_FOUND', `no such file: ${pathname}`);
    res
      .writeHead(200, { 'Content-Type': file.contentType, 'Cache-Control': 'no-cache' })
      .end(method === 'HEAD' ? undefined : file.body);
  }

  #send(
    res: ServerResponse,
    response: { status: number; body: unknown; headers: Record<string, string> },
  ): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(response.body);
    res
      .writeHead(response.status, {
        ...response.headers,
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store',
      })
      .end(text);
  }
}
