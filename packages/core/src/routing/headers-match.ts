import { PreconditionFailedError } from '../errors.js';
import type { HeaderValue, Headers } from '../message.js';
import { headerValuesEqual, isVoid } from './header-values.js';

export type XMatch = 'all' | 'any' | 'all-with-x' | 'any-with-x';

const X_MATCH_VALUES: readonly string[] = ['all', 'any', 'all-with-x', 'any-with-x'];

/** A headers-exchange binding's arguments, prepared once at bind time. */
export interface HeadersPattern {
  readonly mode: 'all' | 'any';
  /** Keys to test; `x-match` is never among them, other `x-` keys only in the `-with-x` modes. */
  readonly keys: readonly string[];
  readonly values: readonly HeaderValue[];
}

function xMatchText(value: HeaderValue): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return undefined;
}

/** Throws PreconditionFailedError for an `x-match` other than all / any / all-with-x / any-with-x (RabbitMQ). */
export function validateHeadersBindingArgs(args: Readonly<Headers>): XMatch {
  if (!Object.hasOwn(args, 'x-match')) return 'all';
  const raw = args['x-match'];
  const text = xMatchText(raw);
  if (text === undefined || !X_MATCH_VALUES.includes(text)) {
    throw new PreconditionFailedError(
      `invalid x-match field value ${JSON.stringify(String(raw))}; expected all, any, all-with-x, or any-with-x`,
    );
  }
  return text as XMatch;
}

export function compileHeadersPattern(args: Readonly<Headers>): HeadersPattern {
  const xMatch = validateHeadersBindingArgs(args);
  const withX = xMatch === 'all-with-x' || xMatch === 'any-with-x';
  const keys: string[] = [];
  const values: HeaderValue[] = [];
  for (const key of Object.keys(args)) {
    if (key === 'x-match' || (!withX && key.startsWith('x-'))) continue;
    keys.push(key);
    values.push(args[key]);
  }
  return { mode: xMatch === 'all' || xMatch === 'all-with-x' ? 'all' : 'any', keys, values };
}

/**
 * RabbitMQ's headers match: `all` needs every pattern key present with an equal value, `any` needs
 * one; a void pattern value only asks for the key's presence. `all` with no keys matches everything,
 * `any` with no keys matches nothing.
 */
export function headersMatch(pattern: HeadersPattern, headers: Readonly<Headers>): boolean {
  const { keys, values } = pattern;
  const all = pattern.mode === 'all';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const expected = values[i];
    const hit =
      Object.hasOwn(headers, key) && (isVoid(expected) || headerValuesEqual(expected, headers[key]));
    if (all && !hit) return false;
    if (!all && hit) return true;
  }
  return all;
}
