// RabbitMQ's definitions endpoints, administrators only: they carry password hashes. A POST must
// be JSON (request-guards.ts refuses form posts), as every change here.
import type { Authenticator } from '@conveyor/core';
import { exportDefinitions } from '../definitions/export-definitions.js';
import { importDefinitions } from '../definitions/import-definitions.js';
import type { ApiContext } from './api-context.js';
import type { Route } from './router.js';

export function definitionRoutes(ctx: ApiContext, authenticator: Authenticator): Route[] {
  const source = { broker: ctx.broker, authenticator, version: ctx.version };
  return [
    {
      method: 'GET',
      path: '/api/definitions',
      administratorOnly: true,
      handler: async () => ({ body: await exportDefinitions(source) }),
    },
    {
      method: 'GET',
      path: '/api/definitions/:vhost',
      administratorOnly: true,
      handler: async (r) => ({ body: await exportDefinitions(source, r.params.vhost) }),
    },
    {
      method: 'POST',
      path: '/api/definitions',
      administratorOnly: true,
      handler: async (r) => ({ body: await importDefinitions(source, await r.body()) }),
    },
    {
      method: 'POST',
      path: '/api/definitions/:vhost',
      administratorOnly: true,
      handler: async (r) => ({ body: await importDefinitions(source, await r.body(), r.params.vhost) }),
    },
  ];
}
