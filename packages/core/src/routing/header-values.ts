import type { HeaderValue, Headers } from '../message.js';

/** AMQP `void`: our doors carry it as null or undefined. */
export function isVoid(value: HeaderValue): value is null | undefined {
  return value === null || value === undefined;
}

/**
 * Value equality as RabbitMQ's headers exchange sees it (Erlang `==` on field values): numbers
 * compare numerically across int/float/bigint, a string equals the same UTF-8 bytes, tables and
 * arrays compare deeply.
 */
export function headerValuesEqual(a: HeaderValue, b: HeaderValue): boolean {
  if (a === b) return true;
  if (isVoid(a) || isVoid(b)) return isVoid(a) && isVoid(b);
  if (typeof a === 'number' || typeof a === 'bigint') return numbersEqual(a, b);
  if (typeof a === 'string' || a instanceof Uint8Array) return bytesLikeEqual(a, b);
  if (typeof a === 'boolean') return false; // a !== b already
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => headerValuesEqual(item, b[i]));
  }
  if (typeof b !== 'object' || Array.isArray(b) || b instanceof Date || b instanceof Uint8Array) return false;
  return tablesEqual(a, b);
}

function numbersEqual(a: number | bigint, b: HeaderValue): boolean {
  if (typeof b !== 'number' && typeof b !== 'bigint') return false;
  if (typeof a === typeof b) return a === b;
  const n = typeof a === 'number' ? a : (b as number);
  const big = typeof a === 'bigint' ? a : (b as bigint);
  return Number.isInteger(n) && BigInt(n) === big;
}

function bytesLikeEqual(a: string | Uint8Array, b: HeaderValue): boolean {
  if (typeof b === 'string') return typeof a === 'string' ? a === b : bytesEqual(a, Buffer.from(b, 'utf8'));
  if (!(b instanceof Uint8Array)) return false;
  return bytesEqual(typeof a === 'string' ? Buffer.from(a, 'utf8') : a, b);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function tablesEqual(a: Headers, b: Headers): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && headerValuesEqual(a[k], b[k]));
}

/**
 * A canonical text form of a header table (keys sorted, values type-tagged), so two tables that
 * are equal give the same string: used as part of a binding's identity.
 */
export function canonicalHeaders(headers: Readonly<Headers>): string {
  return canonicalValue(headers as HeaderValue);
}

function canonicalValue(value: HeaderValue): string {
  if (isVoid(value)) return 'v';
  switch (typeof value) {
    case 'string':
      return 's' + JSON.stringify(value);
    case 'number':
      return Number.isInteger(value) ? 'i' + String(value === 0 ? 0 : value) : 'f' + String(value);
    case 'bigint':
      return 'i' + value.toString();
    case 'boolean':
      return value ? 'T' : 'F';
  }
  if (value instanceof Date) return 't' + String(value.getTime());
  if (value instanceof Uint8Array)
    return 'x' + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (Array.isArray(value)) return '[' + value.map(canonicalValue).join(',') + ']';
  const keys = Object.keys(value).sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalValue(value[k])).join(',') + '}';
}
