import { StoreError } from '@conveyor/core';
import type { RedisWaitOption } from './redis-store.js';

/** What a `--store` URL may say beyond where Redis is. */
export interface UrlOptions {
  url: string;
  prefix?: string;
  holderTtlMs?: number;
  wait?: RedisWaitOption;
}

const OURS = ['prefix', 'holderTtlMs', 'wait', 'waitTimeoutMs'] as const;

/**
 * Takes Conveyor's query parameters out of a Redis URL (ioredis would not know them): `prefix`,
 * `holderTtlMs`, and `wait=aof` or `wait=replicas:N` with an optional `waitTimeoutMs`.
 */
export function splitUrl(url: string): UrlOptions {
  if (!new RegExp(`[?&](${OURS.join('|')})=`).test(url)) return { url };
  const parsed = new URL(url);
  const param = (name: (typeof OURS)[number]): string | null => parsed.searchParams.get(name);
  const values = Object.fromEntries(OURS.map((name) => [name, param(name)])) as Record<
    (typeof OURS)[number],
    string | null
  >;
  for (const name of OURS) parsed.searchParams.delete(name);
  const out: UrlOptions = { url: parsed.toString() };
  if (values.prefix !== null) out.prefix = values.prefix;
  if (values.holderTtlMs !== null) out.holderTtlMs = integerAtLeast('holderTtlMs', values.holderTtlMs, 30);
  const timeoutMs =
    values.waitTimeoutMs === null ? undefined : integerAtLeast('waitTimeoutMs', values.waitTimeoutMs, 0);
  if (values.wait === 'aof') out.wait = timeoutMs === undefined ? { aof: true } : { aof: true, timeoutMs };
  else if (values.wait !== null) {
    const replicas = /^replicas:(\d+)$/.exec(values.wait)?.[1];
    if (replicas === undefined)
      throw new StoreError(`redis URL: wait must be 'aof' or 'replicas:N', got '${values.wait}'`);
    out.wait = { replicas: Number(replicas), timeoutMs: timeoutMs ?? 1_000 };
  } else if (timeoutMs !== undefined) throw new StoreError('redis URL: waitTimeoutMs needs wait');
  return out;
}

function integerAtLeast(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new StoreError(`redis URL: ${name} must be an integer ≥ ${min}, got '${value}'`);
  return n;
}
