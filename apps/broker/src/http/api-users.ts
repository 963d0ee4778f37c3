// Who is asking (any management user) and the broker's users (administrators only): never a password or hash.
import type { Authenticator } from '@conveyor/core';
import type { Route } from './router.js';

export function userRoutes(authenticator: Authenticator): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/whoami',
      handler: async (r) => ({ body: { name: r.principal.username, tags: r.principal.tags } }),
    },
    {
      method: 'GET',
      path: '/api/users',
      administratorOnly: true,
      handler: async () => ({
        body: authenticator.users.map((u) => ({
          name: u.username,
          tags: u.tags ?? [],
          hashing_algorithm:
            u.passwordHash === undefined ? 'plain' : (u.hashingAlgorithm ?? 'rabbit_password_hashing_sha256'),
          loopback_only: u.loopbackOnly === true,
          vhosts: u.vhosts ?? null,
        })),
      }),
    },
  ];
}
