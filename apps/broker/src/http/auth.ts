import { timingSafeEqual } from 'node:crypto';
import { isLoopbackAddress } from '@conveyor/core';
import type { BrokerUser } from '../config.js';
import { HttpError } from './http-errors.js';

const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="conveyor"' };

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * HTTP Basic against the broker's users, with the AMQP rule for loopback-only users (RabbitMQ's
 * `loopback_users`): 401 without or with wrong credentials, 403 for a loopback-only user from afar.
 */
export function authenticate(
  users: readonly BrokerUser[],
  authorization: string | undefined,
  remoteAddress: string | undefined,
): BrokerUser {
  const match = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) throw new HttpError(401, 'UNAUTHORIZED', 'credentials required (HTTP Basic)', CHALLENGE);
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = colon < 0 ? decoded : decoded.slice(0, colon);
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  const user = users.find((u) => u.username === username);
  if (!user || !sameText(user.password, password))
    throw new HttpError(401, 'UNAUTHORIZED', 'wrong username or password', CHALLENGE);
  if (user.loopbackOnly && !isLoopbackAddress(remoteAddress))
    throw new HttpError(403, 'FORBIDDEN', `user '${username}' may only connect from localhost`);
  return user;
}
