/**
 * The one login check of every door (AMQP SASL, MQTT CONNECT, HTTP Basic, TLS client
 * certificates): passwords compared in constant time, RabbitMQ's loopback-only rule, the user's
 * vhosts; every refusal reported once to `onFailure` (metrics, logs — never the password).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { isLoopbackAddress, type UserAccount } from './accounts.js';
import { hashPassword, verifyPasswordHash } from './password-hash.js';
import { CompiledPermissions, Principal } from './principal.js';

export type AuthDoor = 'amqp' | 'mqtt' | 'http';

export type AuthFailureReason =
  /** Unknown user or wrong password (the two are not told apart). */
  | 'bad-credentials'
  /** A loopback-only user from another address. */
  | 'loopback-only'
  /** The user may not open that vhost. */
  | 'vhost-refused'
  /** No user named, and no anonymous user configured. */
  | 'anonymous-refused';

export interface AuthAttempt {
  door: AuthDoor;
  remoteAddress: string | undefined;
  /** Checked at login when the door knows it then (MQTT, HTTP); AMQP checks it at connection.open. */
  vhost?: string;
}

export interface AuthFailure {
  door: AuthDoor;
  remoteAddress: string | undefined;
  username: string | undefined;
  reason: AuthFailureReason;
}

export type AuthResult =
  { ok: true; principal: Principal } | { ok: false; reason: AuthFailureReason; message: string };

export interface AuthenticatorOptions {
  /** Told of every refused login (and of vhosts refused after it, through `refuseVhost`). */
  onFailure?: (failure: AuthFailure) => void;
}

/** RabbitMQ's default account: guest/guest from loopback only, an administrator. */
export const GUEST_USER: UserAccount = {
  username: 'guest',
  password: 'guest',
  loopbackOnly: true,
  tags: ['administrator'],
};

/** Compared against when the user is unknown, so that case costs what a wrong password costs. */
const DUMMY_HASH = hashPassword('conveyor-dummy');

/** Plain passwords are compared as SHA-256 digests: equal lengths, so timingSafeEqual always runs. */
function samePlain(stored: string, given: string): boolean {
  const a = createHash('sha256').update(stored, 'utf8').digest();
  const b = createHash('sha256').update(given, 'utf8').digest();
  return timingSafeEqual(a, b);
}

export class Authenticator {
  readonly #users = new Map<string, CompiledPermissions>();
  readonly #onFailure: ((failure: AuthFailure) => void) | undefined;

  constructor(users: readonly UserAccount[] = [GUEST_USER], options: AuthenticatorOptions = {}) {
    for (const user of users) {
      if (this.#users.has(user.username))
        throw new InvalidArgumentError(`user '${user.username}' is listed twice`);
      this.put(user);
    }
    this.#onFailure = options.onFailure;
  }

  /**
   * Adds an account, or replaces the one of that name (a definitions import). Connections already
   * open keep the permissions they logged in with.
   */
  put(user: UserAccount): void {
    if (user.password === undefined && user.passwordHash === undefined)
      throw new InvalidArgumentError(`user '${user.username}' has neither password nor passwordHash`);
    this.#users.set(user.username, new CompiledPermissions(user));
  }

  /** The accounts, as configured. */
  get users(): UserAccount[] {
    return [...this.#users.values()].map((c) => c.user);
  }

  has(username: string): boolean {
    return this.#users.has(username);
  }

  /** A user name and password (AMQP PLAIN/AMQPLAIN, MQTT CONNECT, HTTP Basic). */
  password(username: string, password: string, attempt: AuthAttempt): AuthResult {
    const compiled = this.#users.get(username);
    const user = compiled?.user;
    let valid: boolean;
    if (user?.passwordHash !== undefined)
      valid = verifyPasswordHash(
        user.passwordHash,
        user.hashingAlgorithm ?? 'rabbit_password_hashing_sha256',
        password,
      );
    else if (user?.password !== undefined) valid = samePlain(user.password, password);
    else {
      verifyPasswordHash(DUMMY_HASH, 'rabbit_password_hashing_sha256', password);
      valid = false;
    }
    if (!compiled || !valid)
      return this.#refuse(attempt, username, 'bad-credentials', 'wrong username or password');
    return this.#admit(compiled, attempt);
  }

  /**
   * A user whose identity is already established: the name in a verified TLS client certificate
   * (SASL EXTERNAL, MQTT's identity as user name) or the configured anonymous MQTT user.
   */
  identified(username: string, attempt: AuthAttempt): AuthResult {
    const compiled = this.#users.get(username);
    if (!compiled) return this.#refuse(attempt, username, 'bad-credentials', `no user '${username}'`);
    return this.#admit(compiled, attempt);
  }

  /** A login without any user (anonymous MQTT where none is configured). */
  refuseAnonymous(attempt: AuthAttempt): AuthResult {
    return this.#refuse(attempt, undefined, 'anonymous-refused', 'a user name is required');
  }

  /** A vhost refused after login (AMQP connection.open): counted like a refused login. */
  refuseVhost(principal: Principal, vhost: string, attempt: AuthAttempt): string {
    const message = `access to vhost '${vhost}' refused for user '${principal.username}'`;
    this.#report({
      door: attempt.door,
      remoteAddress: attempt.remoteAddress,
      username: principal.username,
      reason: 'vhost-refused',
    });
    return message;
  }

  #admit(compiled: CompiledPermissions, attempt: AuthAttempt): AuthResult {
    const { user } = compiled;
    if (user.loopbackOnly === true && !isLoopbackAddress(attempt.remoteAddress))
      return this.#refuse(
        attempt,
        user.username,
        'loopback-only',
        `user '${user.username}' can only connect via localhost`,
      );
    const principal = new Principal(compiled);
    if (attempt.vhost !== undefined && !principal.mayUseVhost(attempt.vhost))
      return this.#refuse(
        attempt,
        user.username,
        'vhost-refused',
        `access to vhost '${attempt.vhost}' refused for user '${user.username}'`,
      );
    return { ok: true, principal };
  }

  #refuse(
    attempt: AuthAttempt,
    username: string | undefined,
    reason: AuthFailureReason,
    message: string,
  ): AuthResult {
    this.#report({ door: attempt.door, remoteAddress: attempt.remoteAddress, username, reason });
    return { ok: false, reason, message };
  }

  #report(failure: AuthFailure): void {
    this.#onFailure?.(failure);
  }
}
