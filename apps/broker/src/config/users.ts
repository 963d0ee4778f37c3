import {
  GUEST_USER,
  HASHING_ALGORITHMS,
  isPasswordHash,
  USER_TAGS,
  type HashingAlgorithm,
  type TopicPermission,
  type UserTag,
  type VhostPermissions,
} from '@conveyor/core';
import { StartError } from '../errors.js';
import type { BrokerUser } from '../config.js';
import { closest } from './suggest.js';

const USER_KEYS = [
  'username',
  'password',
  'passwordHash',
  'hashingAlgorithm',
  'loopbackOnly',
  'vhosts',
  'tags',
  'permissions',
  'topicPermissions',
];
const PERMISSION_KEYS = ['configure', 'write', 'read'];
const TOPIC_KEYS = ['vhost', 'exchange', 'write', 'read'];

type Fail = (message: string) => StartError;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(record: Record<string, unknown>, known: string[], at: string, fail: Fail): void {
  for (const key of Object.keys(record)) {
    if (known.includes(key)) continue;
    const hint = closest(key, known);
    throw fail(`unknown key '${at}.${key}'${hint ? ` (did you mean '${at}.${hint}'?)` : ''}`);
  }
}

/** A regular expression as RabbitMQ's permissions hold them ('' = nothing). */
function regex(value: unknown, at: string, fail: Fail): string {
  if (typeof value !== 'string') throw fail(`'${at}' must be a regular expression (a string)`);
  try {
    new RegExp(value.replace(/\{(username|client_id|vhost)\}/g, 'x'), 'u');
  } catch {
    throw fail(`'${at}' is not a valid regular expression: ${JSON.stringify(value)}`);
  }
  return value;
}

function parsePermissions(value: unknown, at: string, fail: Fail): Record<string, VhostPermissions> {
  if (!isRecord(value)) throw fail(`'${at}' must map vhost names to {configure, write, read}`);
  const result: Record<string, VhostPermissions> = {};
  for (const [vhost, p] of Object.entries(value)) {
    const here = `${at}.${vhost}`;
    if (!isRecord(p)) throw fail(`'${here}' must be {configure, write, read}`);
    checkKeys(p, PERMISSION_KEYS, here, fail);
    result[vhost] = {
      configure: regex(p.configure, `${here}.configure`, fail),
      write: regex(p.write, `${here}.write`, fail),
      read: regex(p.read, `${here}.read`, fail),
    };
  }
  return result;
}

function parseTopicPermissions(value: unknown, at: string, fail: Fail): TopicPermission[] {
  if (!Array.isArray(value)) throw fail(`'${at}' must be a list of {vhost, exchange, write, read}`);
  return value.map((t: unknown, i) => {
    const here = `${at}[${i}]`;
    if (!isRecord(t)) throw fail(`'${here}' must be {vhost, exchange, write, read}`);
    checkKeys(t, TOPIC_KEYS, here, fail);
    if (typeof t.exchange !== 'string' || t.exchange === '')
      throw fail(`'${here}.exchange' must name a topic exchange`);
    if (t.vhost !== undefined && typeof t.vhost !== 'string') throw fail(`'${here}.vhost' must be a string`);
    return {
      ...(t.vhost === undefined ? {} : { vhost: t.vhost as string }),
      exchange: t.exchange,
      write: regex(t.write, `${here}.write`, fail),
      read: regex(t.read, `${here}.read`, fail),
    };
  });
}

/** Validates a `users` list (config file or users file); `where` prefixes every error ("config", "users FILE"). */
export function parseUsers(value: unknown, where: string, path = 'users'): BrokerUser[] {
  const fail: Fail = (message) => new StartError('INVALID_OPTIONS', `${where}: ${message}`);
  if (!Array.isArray(value))
    throw fail(
      `'${path}' must be a list of {username, password or passwordHash, loopbackOnly, vhosts, tags}`,
    );
  const users = value.map((entry: unknown, i): BrokerUser => {
    const at = `${path}[${i}]`;
    if (!isRecord(entry)) throw fail(`'${at}' must be an object with username and password`);
    checkKeys(entry, USER_KEYS, at, fail);
    const { username, password, passwordHash, hashingAlgorithm, loopbackOnly, vhosts, tags } = entry;
    if (typeof username !== 'string' || username === '')
      throw fail(`'${at}.username' must be a non-empty string`);
    if (password !== undefined && typeof password !== 'string')
      throw fail(`'${at}.password' must be a string`);
    if (password === undefined && passwordHash === undefined)
      throw fail(`'${at}' needs a password or a passwordHash (conveyor hash-password makes one)`);
    if (password !== undefined && passwordHash !== undefined)
      throw fail(`'${at}' has both password and passwordHash: keep one`);
    if (hashingAlgorithm !== undefined && !HASHING_ALGORITHMS.includes(hashingAlgorithm as HashingAlgorithm))
      throw fail(`'${at}.hashingAlgorithm' must be one of ${HASHING_ALGORITHMS.join(', ')}`);
    const algorithm = (hashingAlgorithm ?? 'rabbit_password_hashing_sha256') as HashingAlgorithm;
    if (
      passwordHash !== undefined &&
      (typeof passwordHash !== 'string' || !isPasswordHash(passwordHash, algorithm))
    )
      throw fail(`'${at}.passwordHash' is not a ${algorithm} hash (base64 of a 4-byte salt and the digest)`);
    if (loopbackOnly !== undefined && typeof loopbackOnly !== 'boolean')
      throw fail(`'${at}.loopbackOnly' must be true or false`);
    if (vhosts !== undefined && !(Array.isArray(vhosts) && vhosts.every((v) => typeof v === 'string')))
      throw fail(`'${at}.vhosts' must be a list of virtual host names`);
    if (tags !== undefined && !(Array.isArray(tags) && tags.every((t) => USER_TAGS.includes(t as UserTag))))
      throw fail(`'${at}.tags' must be a list of ${USER_TAGS.join(', ')}`);
    const user: BrokerUser = { username, loopbackOnly: loopbackOnly === true };
    if (password !== undefined) user.password = password;
    if (passwordHash !== undefined) user.passwordHash = passwordHash as string;
    if (hashingAlgorithm !== undefined) user.hashingAlgorithm = algorithm;
    if (vhosts !== undefined) user.vhosts = vhosts as string[];
    if (tags !== undefined) user.tags = tags as UserTag[];
    if (entry.permissions !== undefined)
      user.permissions = parsePermissions(entry.permissions, `${at}.permissions`, fail);
    if (entry.topicPermissions !== undefined)
      user.topicPermissions = parseTopicPermissions(entry.topicPermissions, `${at}.topicPermissions`, fail);
    return user;
  });
  const names = new Set<string>();
  for (const user of users) {
    if (names.has(user.username)) throw fail(`user '${user.username}' is listed twice`);
    names.add(user.username);
  }
  return users;
}

/**
 * A RabbitMQ definitions export (`rabbitmqctl export_definitions`, the management API's
 * /api/definitions): its users with their password hashes and tags, permissions and topic
 * permissions become Conveyor users (guest from loopback only, as RabbitMQ's default
 * `loopback_users`). The topology is read by definitions/definitions-document.ts.
 */
export function usersFromDefinitions(document: Record<string, unknown>, where: string): BrokerUser[] {
  const fail: Fail = (message) => new StartError('INVALID_OPTIONS', `${where}: ${message}`);
  const list = (key: string): Record<string, unknown>[] => {
    const value = document[key] ?? [];
    if (!Array.isArray(value) || !value.every(isRecord)) throw fail(`'${key}' must be a list of objects`);
    return value;
  };
  const permissions = list('permissions');
  const topics = list('topic_permissions');
  const users = list('users').map((u, i) => {
    const tags = Array.isArray(u.tags) ? u.tags : typeof u.tags === 'string' ? u.tags.split(',') : [];
    const known = tags
      .map((t) => String(t).trim())
      .filter((t): t is UserTag => USER_TAGS.includes(t as UserTag));
    const name = u.name;
    if (typeof name !== 'string' || name === '') throw fail(`'users[${i}].name' must be a non-empty string`);
    const own = (p: Record<string, unknown>): boolean => p.user === name;
    return {
      username: name,
      // RabbitMQ's default loopback_users: its guest may log in from localhost only, and so here.
      loopbackOnly: name === GUEST_USER.username,
      passwordHash: u.password_hash,
      ...(u.hashing_algorithm === undefined ? {} : { hashingAlgorithm: u.hashing_algorithm }),
      tags: known,
      permissions: Object.fromEntries(
        permissions
          .filter(own)
          .map((p) => [p.vhost, { configure: p.configure, write: p.write, read: p.read }]),
      ),
      topicPermissions: topics
        .filter(own)
        .map((t) => ({ vhost: t.vhost, exchange: t.exchange, write: t.write, read: t.read })),
    };
  });
  return parseUsers(users, where);
}
