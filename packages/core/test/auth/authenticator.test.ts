import { describe, expect, it } from 'vitest';
import {
  AccessRefusedError,
  Authenticator,
  hashPassword,
  isPasswordHash,
  verifyPasswordHash,
  type AuthFailure,
} from '../../src/index.js';

// A hash RabbitMQ 3.10 wrote for guest/guest (rabbitmqctl export_definitions).
const RABBITMQ_GUEST_HASH = 'S3r//dfqGEO/NPcLLFAVto5Zhm8B4/hLThrPOSeNpmxL+zcm';

describe('password hashes in RabbitMQ format', () => {
  it("verifies RabbitMQ's own hash of guest", () => {
    expect(verifyPasswordHash(RABBITMQ_GUEST_HASH, 'rabbit_password_hashing_sha256', 'guest')).toBe(true);
    expect(verifyPasswordHash(RABBITMQ_GUEST_HASH, 'rabbit_password_hashing_sha256', 'Guest')).toBe(false);
  });

  it.each(['rabbit_password_hashing_sha256', 'rabbit_password_hashing_sha512'] as const)(
    '%s: salted (two hashes of one password differ), well-formed, verifies',
    (algorithm) => {
      const a = hashPassword('s3cret', algorithm);
      const b = hashPassword('s3cret', algorithm);
      expect(a).not.toBe(b);
      expect(isPasswordHash(a, algorithm)).toBe(true);
      expect(verifyPasswordHash(a, algorithm, 's3cret')).toBe(true);
      expect(verifyPasswordHash(a, algorithm, 's3cret ')).toBe(false);
    },
  );

  it('a hash of the other algorithm, or garbage, is not a hash', () => {
    expect(
      isPasswordHash(hashPassword('x', 'rabbit_password_hashing_sha512'), 'rabbit_password_hashing_sha256'),
    ).toBe(false);
    expect(isPasswordHash('not base64!', 'rabbit_password_hashing_sha256')).toBe(false);
    expect(verifyPasswordHash('', 'rabbit_password_hashing_sha256', '')).toBe(false);
  });
});

describe('Authenticator', () => {
  const failures: AuthFailure[] = [];
  const auth = new Authenticator(
    [
      { username: 'plain', password: 'pw' },
      { username: 'hashed', passwordHash: hashPassword('hpw') },
      { username: 'local', password: 'l', loopbackOnly: true },
      { username: 'tenant', password: 't', vhosts: ['a'] },
    ],
    { onFailure: (f) => failures.push(f) },
  );
  const attempt = { door: 'amqp' as const, remoteAddress: '127.0.0.1' };

  it('plain and hashed passwords; a wrong one, or an unknown user, is the same refusal', () => {
    expect(auth.password('plain', 'pw', attempt).ok).toBe(true);
    expect(auth.password('hashed', 'hpw', attempt).ok).toBe(true);
    const wrong = auth.password('plain', 'pW', attempt);
    const unknown = auth.password('nobody', 'pw', attempt);
    expect(wrong).toMatchObject({ ok: false, reason: 'bad-credentials' });
    expect(unknown).toEqual(wrong);
  });

  it('loopback-only users from afar, and vhosts a user may not open, are refused and reported', () => {
    failures.length = 0;
    expect(auth.password('local', 'l', { door: 'mqtt', remoteAddress: '10.0.0.7' })).toMatchObject({
      ok: false,
      reason: 'loopback-only',
    });
    expect(auth.password('tenant', 't', { ...attempt, vhost: '/' })).toMatchObject({
      ok: false,
      reason: 'vhost-refused',
    });
    expect(failures).toEqual([
      { door: 'mqtt', remoteAddress: '10.0.0.7', username: 'local', reason: 'loopback-only' },
      { door: 'amqp', remoteAddress: '127.0.0.1', username: 'tenant', reason: 'vhost-refused' },
    ]);
    // The report never carries the password.
    expect(JSON.stringify(failures)).not.toContain('"l"');
  });

  it('refuses a users list with a user twice, or without any password', () => {
    expect(
      () =>
        new Authenticator([
          { username: 'a', password: '1' },
          { username: 'a', password: '2' },
        ]),
    ).toThrow(/twice/);
    expect(() => new Authenticator([{ username: 'a' }])).toThrow(/neither password nor passwordHash/);
    expect(
      () =>
        new Authenticator([
          { username: 'a', password: 'x', permissions: { '/': { configure: '(', write: '', read: '' } } },
        ]),
    ).toThrow(/not a valid regular expression/);
  });
});

describe('permissions (RabbitMQ model)', () => {
  const principal = (() => {
    const result = new Authenticator([
      {
        username: 'dev',
        password: 'pw',
        permissions: { '/': { configure: '^dev\\.', write: '^(dev\\.|amq\\.topic$)', read: '' } },
        topicPermissions: [
          { exchange: 'amq.topic', write: '^devices\\.{client_id}\\.', read: '^devices\\.{username}\\.' },
        ],
      },
    ]).password('dev', 'pw', { door: 'amqp', remoteAddress: '127.0.0.1' });
    if (!result.ok) throw new Error('login failed');
    return result.principal;
  })();

  it('configure / write / read: an unanchored search; "" allows nothing; only the vhosts listed', () => {
    expect(principal.may('/', 'configure', 'queue', 'dev.jobs')).toBe(true);
    expect(principal.may('/', 'configure', 'queue', 'jobs')).toBe(false);
    expect(principal.may('/', 'write', 'exchange', 'amq.topic')).toBe(true);
    expect(principal.may('/', 'read', 'queue', 'dev.jobs')).toBe(false);
    expect(principal.mayUseVhost('/')).toBe(true);
    expect(principal.mayUseVhost('other')).toBe(false);
    expect(principal.may('other', 'configure', 'queue', 'dev.jobs')).toBe(false);
  });

  it("refuses with RabbitMQ's text; the default exchange is amq.default", () => {
    expect(() => principal.check('/', 'write', 'exchange', '')).toThrow(
      new AccessRefusedError("access to exchange 'amq.default' in vhost '/' refused for user 'dev'"),
    );
  });

  it('topic permissions: {client_id} and {username} stand for the values, escaped', () => {
    expect(principal.mayTopic('/', 'amq.topic', 'write', 'devices.d1.temp', { clientId: 'd1' })).toBe(true);
    expect(principal.mayTopic('/', 'amq.topic', 'write', 'devices.d2.temp', { clientId: 'd1' })).toBe(false);
    // A '.' in a client id is a '.', not "any character".
    expect(principal.mayTopic('/', 'amq.topic', 'write', 'devices.aXb.t', { clientId: 'a.b' })).toBe(false);
    expect(principal.mayTopic('/', 'amq.topic', 'read', 'devices.dev.#')).toBe(true);
    expect(principal.mayTopic('/', 'amq.topic', 'read', '#')).toBe(false);
    // No rule for another exchange: every key.
    expect(principal.mayTopic('/', 'logs', 'read', '#')).toBe(true);
  });
});
