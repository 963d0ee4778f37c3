/**
 * Password hashes in RabbitMQ's format, so users move between RabbitMQ and Conveyor through
 * definitions: base64(salt ‖ H(salt ‖ utf8(password))) with a 4-byte random salt, H = SHA-256
 * (`rabbit_password_hashing_sha256`, RabbitMQ's default) or SHA-512.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HashingAlgorithm } from './accounts.js';

const DIGEST: Record<HashingAlgorithm, 'sha256' | 'sha512'> = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
};
const SALT_BYTES = 4;

export const HASHING_ALGORITHMS = Object.keys(DIGEST) as HashingAlgorithm[];

function digest(algorithm: HashingAlgorithm, salt: Buffer, password: string): Buffer {
  return createHash(DIGEST[algorithm]).update(salt).update(password, 'utf8').digest();
}

/** A new salted hash of `password`. */
export function hashPassword(
  password: string,
  algorithm: HashingAlgorithm = 'rabbit_password_hashing_sha256',
): string {
  const salt = randomBytes(SALT_BYTES);
  return Buffer.concat([salt, digest(algorithm, salt, password)]).toString('base64');
}

/** Whether a base64 string is a well-formed hash for `algorithm` (salt plus a digest of its length). */
export function isPasswordHash(hash: string, algorithm: HashingAlgorithm): boolean {
  const bytes = Buffer.from(hash, 'base64');
  const expected = SALT_BYTES + (DIGEST[algorithm] === 'sha256' ? 32 : 64);
  return bytes.length === expected && bytes.toString('base64') === hash;
}

/** Compares `password` with a stored hash in constant time (for hashes of the same algorithm). */
export function verifyPasswordHash(hash: string, algorithm: HashingAlgorithm, password: string): boolean {
  const stored = Buffer.from(hash, 'base64');
  if (stored.length <= SALT_BYTES) return false;
  const computed = digest(algorithm, stored.subarray(0, SALT_BYTES), password);
  const expected = stored.subarray(SALT_BYTES);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
