// Queue endpoints: list, show, declare, delete, purge, redrive, and publishing (send / publish).
import type { OutgoingMessage, QueueOptions, VirtualHost } from '@conveyor/core';
import { queueKey } from '../metrics.js';
import {
  nonNegative,
  optionalNumber,
  optionalString,
  positiveInteger,
  vhostOf,
  type ApiContext,
} from './api-context.js';
import { badRequest } from './http-errors.js';
import { decodePayload, jsonSafe, parseProperties } from './message-json.js';
import type { ApiRequest, ApiResult, Route } from './router.js';

const QUEUE_OPTION_KEYS: readonly (keyof QueueOptions)[] = [
  'durable',
  'exclusive',
  'autoDelete',
  'expiresMs',
  'leaseMs',
  'maxDeliveries',
  'deadLetter',
  'messageTtlMs',
  'maxLength',
  'maxBytes',
  'overflow',
  'dedupeWindowMs',
  'consumerTimeoutMs',
  'arguments',
];

async function queueJson(
  ctx: ApiContext,
  vhost: VirtualHost,
  name: string,
): Promise<Record<string, unknown>> {
  const [info, stats] = await Promise.all([vhost.queueInfo(name), vhost.count(name)]);
  return {
    name,
    vhost: vhost.vhost,
    options: jsonSafe(info.options),
    policy: info.policy ?? null,
    effectiveOptions: jsonSafe(info.effectiveOptions),
    ready: stats.ready,
    inFlight: stats.inFlight,
    delayed: stats.delayed,
    bytes: stats.bytes,
    consumers: stats.consumers,
    waiting: stats.waiting,
    published: stats.published,
    delivered: stats.delivered,
    acked: stats.acked,
    deadLettered: stats.deadLettered,
    rates: ctx.metrics.rates.rates(queueKey(vhost.vhost, name)),
  };
}

async function listQueues(ctx: ApiContext, request: ApiRequest): Promise<ApiResult> {
  const names =
    request.params.vhost === undefined ? ctx.broker.vhosts().filter(request.mayUse) : [request.params.vhost];
  const list: Record<string, unknown>[] = [];
  for (const name of names) {
    const vhost = vhostOf(ctx, name);
    for (const queue of await vhost.listQueues()) {
      const json = await queueJson(ctx, vhost, queue.name).catch(() => undefined);
      if (json) list.push(json); // else deleted while listing
    }
  }
  list.sort(
    (a, b) => String(a.vhost).localeCompare(String(b.vhost)) || String(a.name).localeCompare(String(b.name)),
  );
  return { body: list };
}

function queueOptions(body: Record<string, unknown>): QueueOptions {
  for (const key of Object.keys(body))
    if (!QUEUE_OPTION_KEYS.includes(key as keyof QueueOptions))
      throw badRequest(`unknown queue option '${key}' (known: ${QUEUE_OPTION_KEYS.join(', ')})`);
  return body as QueueOptions;
}

async function declare(ctx: ApiContext, request: ApiRequest): Promise<ApiResult> {
  const { vhost: vhostName, name } = request.params as { vhost: string; name: string };
  const vhost = vhostOf(ctx, vhostName);
  const existed = vhost.hasQueue(name);
  await vhost.declareQueue(name, queueOptions(await request.body()));
  return { status: existed ? 200 : 201, body: await queueJson(ctx, vhost, name) };
}

function flag(request: ApiRequest, name: string): boolean {
  const value = request.query.get(name);
  if (value === null || value === 'false') return false;
  if (value === '' || value === 'true') return true;
  throw badRequest(`query parameter '${name}' must be true or false`);
}

async function remove(ctx: ApiContext, request: ApiRequest): Promise<ApiResult> {
  const { vhost, name } = request.params as { vhost: string; name: string };
  const deleted = await vhostOf(ctx, vhost).deleteQueue(name, {
    ifUnused: flag(request, 'ifUnused'),
    ifEmpty: flag(request, 'ifEmpty'),
  });
  ctx.metrics.rates.forget(queueKey(vhost, name));
  return { body: { deleted } };
}

function outgoing(body: Record<string, unknown>): OutgoingMessage {
  const message: OutgoingMessage = {
    body: decodePayload(body.payload ?? '', body.payloadEncoding),
    properties: parseProperties(body.properties),
  };
  const delayMs = optionalNumber(body, 'delayMs', nonNegative, 'a number of milliseconds ≥ 0');
  if (delayMs !== undefined) message.delayMs = delayMs;
  return message;
}

function routed(result: {
  queues: readonly string[];
  rejected: readonly string[];
  duplicates: readonly string[];
}): ApiResult {
  return {
    body: {
      routed: result.queues.length > 0,
      queues: result.queues,
      rejected: result.rejected,
      duplicates: result.duplicates,
    },
  };
}

const CONFIGURE_QUEUE = { permission: 'configure', kind: 'queue' } as const;
const READ_QUEUE = { permission: 'read', kind: 'queue' } as const;

export function queueRoutes(ctx: ApiContext): Route[] {
  const params = (r: ApiRequest): { vhost: VirtualHost; name: string } => ({
    vhost: vhostOf(ctx, r.params.vhost),
    name: r.params.name!,
  });
  return [
    { method: 'GET', path: '/api/queues', handler: (r) => listQueues(ctx, r) },
    { method: 'GET', path: '/api/queues/:vhost', handler: (r) => listQueues(ctx, r) },
    {
      method: 'GET',
      path: '/api/queues/:vhost/:name',
      handler: async (r) => {
        const { vhost, name } = params(r);
        return { body: await queueJson(ctx, vhost, name) };
      },
    },
    {
      method: 'PUT',
      path: '/api/queues/:vhost/:name',
      access: CONFIGURE_QUEUE,
      handler: (r) => declare(ctx, r),
    },
    {
      method: 'DELETE',
      path: '/api/queues/:vhost/:name',
      access: CONFIGURE_QUEUE,
      handler: (r) => remove(ctx, r),
    },
    {
      method: 'DELETE',
      path: '/api/queues/:vhost/:name/contents',
      access: READ_QUEUE,
      handler: async (r) => {
        const { vhost, name } = params(r);
        return { body: { purged: await vhost.purgeQueue(name) } };
      },
    },
    {
      method: 'POST',
      path: '/api/queues/:vhost/:name/redrive',
      access: READ_QUEUE,
      handler: async (r) => {
        const { vhost, name } = params(r);
        const body = await r.body();
        const to = optionalString(body, 'to');
        const max = optionalNumber(body, 'max', positiveInteger, 'a positive whole number');
        const moved = await vhost.redrive(name, {
          ...(to === undefined ? {} : { to }),
          ...(max === undefined ? {} : { max }),
        });
        return { body: { moved } };
      },
    },
    {
      method: 'POST',
      path: '/api/queues/:vhost/:name/send',
      handler: async (r) => {
        const { vhost, name } = params(r);
        // A send is a publish to the default exchange (RabbitMQ's amq.default).
        r.principal.check(vhost.vhost, 'write', 'exchange', '');
        return routed(await vhost.send(name, outgoing(await r.body())));
      },
    },
    {
      method: 'POST',
      path: '/api/exchanges/:vhost/:name/publish',
      handler: async (r) => {
        const { vhost, name } = params(r);
        const body = await r.body();
        const routingKey = optionalString(body, 'routingKey') ?? '';
        // RabbitMQ's API names the default exchange amq.default.
        const exchange = name === 'amq.default' ? '' : name;
        r.principal.check(vhost.vhost, 'write', 'exchange', exchange);
        if (vhost.exchangeInfo(exchange)?.kind === 'topic')
          r.principal.checkTopic(vhost.vhost, exchange, 'write', routingKey);
        return routed(await vhost.publish(exchange, routingKey, outgoing(body)));
      },
    },
  ];
}
