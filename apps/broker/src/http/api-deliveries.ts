// Pull endpoints: peek, take, receive, and settling what was handed out (ack, nack, renew,
// dead-letter). Deliveries live in the DeliveryRegistry between the call that leased them and
// the call that settles them.
import type { Delivery, VirtualHost } from '@conveyor/core';
import {
  nonNegative,
  optionalBoolean,
  optionalNumber,
  optionalString,
  positive,
  positiveInteger,
  vhostOf,
  type ApiContext,
} from './api-context.js';
import { badRequest } from './http-errors.js';
import { deliveryJson, peekedJson } from './message-json.js';
import type { ApiRequest, ApiResult, Route } from './router.js';

/** Longest a receive may wait, so a forgotten long poll does not pin a request forever. */
export const MAX_WAIT_MS = 60_000;
const MAX_BATCH = 1000;

function deliveryRefs(body: Record<string, unknown>): { id: string; holder: string }[] {
  const list = body.deliveries;
  if (!Array.isArray(list) || list.length === 0)
    throw badRequest("'deliveries' must be a non-empty list of {id, holder}");
  return list.map((entry: unknown, i) => {
    const ref = entry as { id?: unknown; holder?: unknown } | null;
    if (typeof ref?.id !== 'string' || typeof ref.holder !== 'string')
      throw badRequest(`'deliveries[${i}]' must be {id, holder} with string values`);
    return { id: ref.id, holder: ref.holder };
  });
}

function leaseMs(body: Record<string, unknown>): { leaseMs?: number } {
  const value = optionalNumber(body, 'leaseMs', positive, 'a positive number of milliseconds');
  return value === undefined ? {} : { leaseMs: value };
}

export function deliveryRoutes(ctx: ApiContext): Route[] {
  const target = (r: ApiRequest): { vhost: VirtualHost; name: string } => ({
    vhost: vhostOf(ctx, r.params.vhost),
    name: r.params.name!,
  });
  const handedOut = (deliveries: readonly Delivery[]): ApiResult => {
    for (const d of deliveries) ctx.deliveries.add(d);
    return { body: deliveries.map(deliveryJson) };
  };
  /** Settles the deliveries named in the body, then forgets them. */
  const settle =
    (action: (vhost: VirtualHost, held: Delivery[], body: Record<string, unknown>) => Promise<unknown>) =>
    async (r: ApiRequest): Promise<ApiResult> => {
      const { vhost, name } = target(r);
      const body = await r.body();
      const held = ctx.deliveries.resolve(vhost.vhost, name, deliveryRefs(body));
      const result = await action(vhost, held, body);
      return { body: result ?? { settled: held.length } };
    };
  // Looking at, taking and settling messages of a queue: read on it, as basic.get needs.
  const route = (path: string, handler: (r: ApiRequest) => Promise<ApiResult>): Route => ({
    method: 'POST',
    path: `/api/queues/:vhost/:name/${path}`,
    access: { permission: 'read', kind: 'queue' },
    handler,
  });

  return [
    route('peek', async (r) => {
      const { vhost, name } = target(r);
      const body = await r.body();
      const count = optionalNumber(
        body,
        'count',
        (n) => positiveInteger(n) && n <= MAX_BATCH,
        `1-${MAX_BATCH}`,
      );
      const peeked = await vhost.peek(name, count ?? 1, {
        includeInFlight: optionalBoolean(body, 'includeInFlight') ?? false,
        includeDelayed: optionalBoolean(body, 'includeDelayed') ?? false,
      });
      return { body: peeked.map(peekedJson) };
    }),
    route('take', async (r) => {
      const { vhost, name } = target(r);
      const body = await r.body();
      const id = optionalString(body, 'id');
      if (id === undefined) throw badRequest("'id' is required (from peek)");
      const delivery = await vhost.take(name, id, leaseMs(body));
      ctx.deliveries.add(delivery);
      return { body: deliveryJson(delivery) };
    }),
    route('receive', async (r) => {
      const { vhost, name } = target(r);
      const body = await r.body();
      const max = optionalNumber(body, 'max', (n) => positiveInteger(n) && n <= MAX_BATCH, `1-${MAX_BATCH}`);
      const waitMs = optionalNumber(
        body,
        'waitMs',
        (n) => nonNegative(n) && n <= MAX_WAIT_MS,
        `0-${MAX_WAIT_MS} ms`,
      );
      const deliveries = await vhost.receive(name, { max: max ?? 1, waitMs: waitMs ?? 0, ...leaseMs(body) });
      if (r.aborted() && deliveries.length > 0) {
        // Nobody will see these: give them back now rather than when their lease runs out.
        await vhost.nack(deliveries, { requeue: true });
        return { body: [] };
      }
      return handedOut(deliveries);
    }),
    route(
      'ack',
      settle(async (vhost, held) => {
        await vhost.ack(held);
        ctx.deliveries.settled(held);
      }),
    ),
    route(
      'nack',
      settle(async (vhost, held, body) => {
        const requeue = optionalBoolean(body, 'requeue') ?? true;
        const delayMs = optionalNumber(body, 'delayMs', nonNegative, 'a number of milliseconds ≥ 0');
        await vhost.nack(held, { requeue, ...(delayMs === undefined ? {} : { delayMs }) });
        ctx.deliveries.settled(held);
      }),
    ),
    route(
      'renew',
      settle(async (vhost, held, body) => {
        const leaseUntil = await vhost.renew(held, leaseMs(body).leaseMs);
        ctx.deliveries.renewed(held, leaseUntil);
        return { renewed: held.length, leaseUntil };
      }),
    ),
    route(
      'dead-letter',
      settle(async (vhost, held, body) => {
        await vhost.deadLetter(held, optionalString(body, 'reason'));
        ctx.deliveries.settled(held);
      }),
    ),
  ];
}
