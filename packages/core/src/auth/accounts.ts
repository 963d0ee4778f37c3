import { isIP } from 'node:net';

/** RabbitMQ's password hashing modules (definitions files name them so). */
export type HashingAlgorithm = 'rabbit_password_hashing_sha256' | 'rabbit_password_hashing_sha512';

/** RabbitMQ's user tags: what a user may do in the management API. */
export type UserTag = 'administrator' | 'monitoring' | 'policymaker' | 'management';
export const USER_TAGS: readonly UserTag[] = ['administrator', 'monitoring', 'policymaker', 'management'];

/**
 * Configure / write / read regular expressions on queue and exchange names within one vhost
 * (RabbitMQ's model). A name is allowed when the expression finds a match in it; `''` allows none.
 */
export interface VhostPermissions {
  configure: string;
  write: string;
  read: string;
}

/**
 * Topic permissions on one topic exchange (RabbitMQ's model): write and read expressions on routing
 * keys, in which `{username}`, `{client_id}` and `{vhost}` stand for the user's values.
 */
export interface TopicPermission {
  /** Default `/`. */
  vhost?: string;
  exchange: string;
  write: string;
  read: string;
}

/** An account of the protocol doors (AMQP, MQTT) and the management API. */
export interface UserAccount {
  username: string;
  /** The password in plain text (the broker warns at start); or `passwordHash`. */
  password?: string;
  /** RabbitMQ's format: base64 of a 4-byte salt followed by the hash of salt + password. */
  passwordHash?: string;
  /** Default `rabbit_password_hashing_sha256`. */
  hashingAlgorithm?: HashingAlgorithm;
  /** Only from 127.0.0.0/8 and ::1 (RabbitMQ's default for guest). */
  loopbackOnly?: boolean;
  /** The virtual hosts it may use; absent: every one. */
  vhosts?: readonly string[];
  /** Management API roles; none: no management API. */
  tags?: readonly UserTag[];
  /** Per vhost; absent: everything in every vhost it may use. Present: only the vhosts named. */
  permissions?: Readonly<Record<string, VhostPermissions>>;
  /** Routing-key rules per topic exchange; none for an exchange: every key. */
  topicPermissions?: readonly TopicPermission[];
}

/** Whether `user` may open `vhost` (its `vhosts`, and its `permissions` when it has any). */
export function mayUseVhost(user: UserAccount, vhost: string): boolean {
  if (user.vhosts !== undefined && !user.vhosts.includes(vhost)) return false;
  return user.permissions === undefined || Object.hasOwn(user.permissions, vhost);
}

/** 127.0.0.0/8 (also IPv4-mapped, `::ffff:127.…`) and ::1. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}
