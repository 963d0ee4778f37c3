// The management HTTP server: JSON API under /api (HTTP Basic), Prometheus text at /metrics (no
// auth, like RabbitMQ's prometheus endpoint), and the dashboard's static files everywhere else.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import { type TlsListenerOptions } from '@conveyor/core';
import { listenOn, tlsServerOptions, TlsServers } from '@conveyor/core/internal';
import type { AddressInfo } from 'node:net';
import type { Authenticator } from '@conveyor/core';
import { definitionRoutes } from './api-definitions.js';
import { overviewRoutes } from './api-overview.js';
import { policyRoutes } from './api-policies.js';
import { deliveryRoutes } from './api-deliveries.js';
import { queueRoutes } from './api-queues.js';
import type { ApiContext } from './api-context.js';
import { authenticate, managementRole } from './auth.js';
import { checkHost, requireJsonForChanges, SECURITY_HEADERS } from './request-guards.js';
import { errorResponse, HttpError } from './http-errors.js';
import { decodeSegments, matchRoute, readJsonBody, type Route } from './router.js';
import { dashboardDirectory, staticFile } from './static-files.js';
import { userRoutes } from './api-users.js';

export interface ManagementServerOptions {
  /** The broker's one login check (the AMQP and MQTT doors share it). */
  authenticator: Authenticator;
  /** Host names (beyond IP addresses and localhost) a request may name: DNS rebinding defence. */
  allowedHosts?: readonly string[];
  /** Largest request body; sized for a base64 message of the broker's largest size. */
  maxBodyBytes: number;
  /** Failures that are not the client's fault (500s). */
  onError: (err: unknown) => void;
}

export class ManagementServer {
  readonly #server: Server;
  readonly #https: HttpsServer[] = [];
  readonly #tls = new TlsServers();
  readonly #routes: Route[];
  readonly #dashboard = dashboardDirectory();

  constructor(
    private readonly ctx: ApiContext,
    private readonly options: ManagementServerOptions,
  ) {
    this.#routes = [
      ...overviewRoutes(ctx),
      ...userRoutes(options.authenticator),
      ...definitionRoutes(ctx, options.authenticator),
      ...policyRoutes(ctx),
      ...queueRoutes(ctx),
      ...deliveryRoutes(ctx),
    ];
    this.#server = createServer((req, res) => this.#respond(req, res));
    this.#server.keepAliveTimeout = 5_000;
  }

  /** Every request, over HTTP or HTTPS: security headers first, then the Host check, then the route. */
  readonly #respond = (req: IncomingMessage, res: ServerResponse): void => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    try {
      checkHost(req.headers.host, this.options.allowedHosts ?? []);
    } catch (err) {
      req.resume();
      this.#send(res, errorResponse(err));
      return;
    }
    this.#handle(req, res).catch((err: unknown) => this.#send(res, errorResponse(err)));
  };

  listen(port: number, host?: string): Promise<AddressInfo> {
    return listenOn(this.#server, port, host);
  }

  /** The same API and dashboard over HTTPS. */
  listenTls(port: number, host: string | undefined, options: TlsListenerOptions): Promise<AddressInfo> {
    const server = createHttpsServer(tlsServerOptions(options), this.#respond);
    server.keepAliveTimeout = 5_000;
    this.#https.push(this.#tls.add(server, options));
    return listenOn(server, port, host);
  }

  /** New certificates for the HTTPS listener; open connections keep theirs. */
  setSecureContext(context: SecureContextOptions): void {
    this.#tls.setSecureContext(context);
  }

  async close(): Promise<void> {
    this.ctx.deliveries.close();
    const servers = [this.#server, ...this.#https].filter((s) => s.listening);
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const server of servers) server.closeAllConnections();
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
      requireJsonForChanges(method, req.headers);
      const principal = authenticate(
        this.options.authenticator,
        req.headers.authorization,
        req.socket.remoteAddress,
      );
      const role = managementRole(principal);
      // Raw segments: `%2F` must decode to a vhost `/`, not split the path.
      const segments = decodeSegments(url.pathname);
      const { route, params } = matchRoute(this.#routes, method, segments);
      const reading = method === 'GET';
      const mayUse = (vhost: string | undefined): boolean =>
        (reading && role.readsEverything) ||
        (vhost === undefined ? principal.user.vhosts === undefined : principal.mayUseVhost(vhost));
      if (route.administratorOnly && !role.administers)
        throw new HttpError(403, 'FORBIDDEN', `user '${principal.username}' is not an administrator`);
      if (route.policymakerOnly && !role.makesPolicies)
        throw new HttpError(
          403,
          'FORBIDDEN',
          `user '${principal.username}' is neither a policymaker nor an administrator`,
        );
      if (params.vhost !== undefined && !mayUse(params.vhost))
        throw new HttpError(
          403,
          'FORBIDDEN',
          `user '${principal.username}' may not use vhost '${params.vhost}'`,
        );
      if (route.access && params.vhost !== undefined && params.name !== undefined)
        principal.check(params.vhost, route.access.permission, route.access.kind, params.name);
      const result = await route.handler({
        method,
        params,
        query: url.searchParams,
        body: () => readJsonBody(req, this.options.maxBodyBytes),
        aborted: () => aborted,
        mayUse,
        principal,
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
