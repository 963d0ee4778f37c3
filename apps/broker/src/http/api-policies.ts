// RabbitMQ's policy endpoints, for policymakers and administrators, within the vhosts they may use.
import { policyFromJson, policyToJson } from '../definitions/policy-json.js';
import { vhostOf, type ApiContext } from './api-context.js';
import { HttpError } from './http-errors.js';
import type { ApiRequest, ApiResult, Route } from './router.js';

function list(ctx: ApiContext, request: ApiRequest): ApiResult {
  const names =
    request.params.vhost === undefined ? ctx.broker.vhosts().filter(request.mayUse) : [request.params.vhost];
  return {
    body: names.flatMap((name) =>
      vhostOf(ctx, name)
        .policies()
        .map((p) => policyToJson(p, name)),
    ),
  };
}

function find(ctx: ApiContext, request: ApiRequest) {
  const { vhost, name } = request.params as { vhost: string; name: string };
  return {
    vhost,
    name,
    policy: vhostOf(ctx, vhost)
      .policies()
      .find((p) => p.name === name),
  };
}

export function policyRoutes(ctx: ApiContext): Route[] {
  return [
    { method: 'GET', path: '/api/policies', policymakerOnly: true, handler: async (r) => list(ctx, r) },
    {
      method: 'GET',
      path: '/api/policies/:vhost',
      policymakerOnly: true,
      handler: async (r) => list(ctx, r),
    },
    {
      method: 'GET',
      path: '/api/policies/:vhost/:name',
      policymakerOnly: true,
      handler: async (r) => {
        const { vhost, name, policy } = find(ctx, r);
        if (!policy) throw new HttpError(404, 'NOT_FOUND', `no policy '${name}' in vhost '${vhost}'`);
        return { body: policyToJson(policy, vhost) };
      },
    },
    {
      method: 'PUT',
      path: '/api/policies/:vhost/:name',
      policymakerOnly: true,
      handler: async (r) => {
        const { vhost, name, policy: existing } = find(ctx, r);
        const { policy, ignored } = policyFromJson({ ...(await r.body()), name });
        await vhostOf(ctx, vhost).setPolicy(policy);
        return { status: existing ? 200 : 201, body: { ...policyToJson(policy, vhost), ignored } };
      },
    },
    {
      method: 'DELETE',
      path: '/api/policies/:vhost/:name',
      policymakerOnly: true,
      handler: async (r) => {
        const { vhost, name } = r.params as { vhost: string; name: string };
        return { body: { deleted: await vhostOf(ctx, vhost).deletePolicy(name) } };
      },
    },
  ];
}
