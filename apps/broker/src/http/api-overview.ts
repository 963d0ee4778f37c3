// GET endpoints that describe the whole broker: overview, vhosts, exchanges, bindings, connections.
import { jsonSafe } from './message-json.js';
import type { ApiContext, ConnectionInfo } from './api-context.js';
import type { ApiRequest, ApiResult, Route } from './router.js';

async function overview(ctx: ApiContext, request: ApiRequest): Promise<ApiResult> {
  const queueTotals = { ready: 0, inFlight: 0, delayed: 0 };
  const messageStats = { published: 0, delivered: 0, acked: 0, deadLettered: 0 };
  for (const name of ctx.broker.vhosts().filter(request.mayUse)) {
    const vhost = ctx.broker.vhost(name);
    for (const queue of await vhost.listQueues()) {
      const stats = await vhost.count(queue.name).catch(() => undefined);
      if (!stats) continue;
      queueTotals.ready += stats.ready;
      queueTotals.inFlight += stats.inFlight;
      queueTotals.delayed += stats.delayed;
      messageStats.published += stats.published;
      messageStats.delivered += stats.delivered;
      messageStats.acked += stats.acked;
      messageStats.deadLettered += stats.deadLettered;
    }
  }
  const connections = { amqp: 0, mqtt: 0 };
  for (const c of visibleConnections(ctx, request)) connections[c.protocol] += 1;
  return {
    body: {
      version: ctx.version,
      uptimeMs: Date.now() - ctx.startedAt,
      store: ctx.store,
      blocked: ctx.broker.blocked,
      memoryBytes: ctx.broker.memory.bytes,
      memoryHighWatermarkBytes: ctx.broker.memory.high,
      queueTotals,
      messageStats,
      connections,
    },
  };
}

function vhostNames(ctx: ApiContext, request: ApiRequest): string[] {
  const one = request.params.vhost;
  if (one !== undefined) {
    ctx.broker.vhost(one); // 404 for an unknown vhost
    return [one];
  }
  return ctx.broker.vhosts().filter(request.mayUse);
}

/** Connections on vhosts the user may use. */
function visibleConnections(ctx: ApiContext, request: ApiRequest): ConnectionInfo[] {
  return ctx.connections().filter((c) => request.mayUse(c.vhost));
}

function exchanges(ctx: ApiContext, request: ApiRequest): ApiResult {
  const list = vhostNames(ctx, request).flatMap((vhost) =>
    ctx.broker
      .vhost(vhost)
      .exchanges()
      .map((e) => ({ vhost, name: e.name, kind: e.kind, options: jsonSafe(e.options) })),
  );
  return { body: list };
}

function bindings(ctx: ApiContext, request: ApiRequest): ApiResult {
  const list = vhostNames(ctx, request).flatMap((vhost) =>
    ctx.broker
      .vhost(vhost)
      .bindings()
      .map((b) => ({
        vhost,
        source: b.source,
        destination: b.destination.name,
        destinationKind: b.destination.kind,
        routingKey: b.routingKey,
        arguments: jsonSafe(b.arguments),
      })),
  );
  return { body: list };
}

export function overviewRoutes(ctx: ApiContext): Route[] {
  const get = (path: string, handler: (request: ApiRequest) => ApiResult | Promise<ApiResult>): Route => ({
    method: 'GET',
    path,
    handler: async (request) => handler(request),
  });
  return [
    get('/api/overview', (r) => overview(ctx, r)),
    get('/api/vhosts', async (r) => ({
      body: await Promise.all(
        ctx.broker
          .vhosts()
          .filter(r.mayUse)
          .map(async (name) => ({
            name,
            queues: (await ctx.broker.vhost(name).listQueues()).length,
          })),
      ),
    })),
    get('/api/exchanges', (r) => exchanges(ctx, r)),
    get('/api/exchanges/:vhost', (r) => exchanges(ctx, r)),
    get('/api/bindings', (r) => bindings(ctx, r)),
    get('/api/bindings/:vhost', (r) => bindings(ctx, r)),
    get('/api/connections', (r) => ({ body: visibleConnections(ctx, r) })),
    get('/api/bridges', () => ({ body: ctx.bridges() })),
  ];
}
