import type { Authenticator, Principal } from '@conveyor/core';
import { HttpError } from './http-errors.js';

const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="conveyor"' };

/**
 * HTTP Basic through the broker's one authenticator (the AMQP and MQTT doors use it too): 401
 * without or with wrong credentials, 403 for a loopback-only user from afar.
 */
export function authenticate(
  authenticator: Authenticator,
  authorization: string | undefined,
  remoteAddress: string | undefined,
): Principal {
  const match = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) throw new HttpError(401, 'UNAUTHORIZED', 'credentials required (HTTP Basic)', CHALLENGE);
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = colon < 0 ? decoded : decoded.slice(0, colon);
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  const result = authenticator.password(username, password, { door: 'http', remoteAddress });
  if (result.ok) return result.principal;
  if (result.reason === 'bad-credentials')
    throw new HttpError(401, 'UNAUTHORIZED', 'wrong username or password', CHALLENGE);
  throw new HttpError(403, 'FORBIDDEN', result.message);
}

/** What the user's tags let it do in the management API (RabbitMQ's management user tags). */
export interface ManagementRole {
  /** Every vhost, read-only (monitoring, administrator). */
  readsEverything: boolean;
  /** Users, definitions (administrator). */
  administers: boolean;
  /** Policies (policymaker, administrator). */
  makesPolicies: boolean;
}

/** 403 for a user with no management tag: the API is not for it. */
export function managementRole(principal: Principal): ManagementRole {
  if (principal.tags.length === 0)
    throw new HttpError(
      403,
      'FORBIDDEN',
      `user '${principal.username}' has no management tag (administrator, monitoring, policymaker or management)`,
    );
  const administers = principal.hasTag('administrator');
  return {
    administers,
    makesPolicies: administers || principal.hasTag('policymaker'),
    readsEverything: administers || principal.hasTag('monitoring'),
  };
}
