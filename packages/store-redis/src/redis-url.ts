import { StoreError } from '@conveyor/core';

/** Takes `prefix` and `holderTtlMs` query parameters out of a Redis URL (ioredis would not know them). */
export function splitUrl(url: string): { url: string; prefix?: string; holderTtlMs?: number } {
  if (!/[?&](prefix|holderTtlMs)=/.test(url)) return { url };
  const parsed = new URL(url);
  const prefix = parsed.searchParams.get('prefix');
  const ttl = parsed.searchParams.get('holderTtlMs');
  parsed.searchParams.delete('prefix');
  parsed.searchParams.delete('holderTtlMs');
  const out: { url: string; prefix?: string; holderTtlMs?: number } = { url: parsed.toString() };
  if (prefix !== null) out.prefix = prefix;
  if (ttl !== null) {
    const n = Number(ttl);
    if (!Number.isInteger(n) || n < 30)
      throw new StoreError(`redis URL: holderTtlMs must be an integer ≥ 30, got '${ttl}'`);
    out.holderTtlMs = n;
  }
  return out;
}
