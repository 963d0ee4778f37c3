import { StoreError } from '@conveyor/core';
import type { RedisWaitOption } from './redis-store.js';

/** Seed nodes of a Redis Cluster (`redis+cluster://h1:p1,h2:p2`) and how to log in to each. */
export interface ClusterSeeds {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

/** What a `--store` URL may say beyond where Redis is. */
export interface UrlOptions {
  /** A single Redis (or Sentinel-fronted) URL for ioredis; '' with `cluster`. */
  url: string;
  cluster?: ClusterSeeds;
  prefix?: string;
  holderTtlMs?: number;
  wait?: RedisWaitOption;
}

const OURS = ['prefix', 'holderTtlMs', 'wait', 'waitTimeoutMs'] as const;

/**
 * Takes Conveyor's query parameters out of a Redis URL (ioredis would not know them): `prefix`,
 * `holderTtlMs`, and `wait=aof` or `wait=replicas:N` with an optional `waitTimeoutMs`. A
 * `redis+cluster://[user:pass@]h1:p1,h2:p2` (or `rediss+cluster://`, TLS) URL names a Redis
 * Cluster by seed nodes instead.
 */
export function splitUrl(url: string): UrlOptions {
  const cluster = /^(rediss?)\+cluster:\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/.exec(url);
  if (cluster) {
    // Several hosts are not a URL authority WHATWG URL parses: read the seeds by hand and the
    // query with the first seed standing in.
    const [, scheme, authority = '', , query = ''] = cluster;
    const own = splitUrl(`${scheme}://seed${query}`);
    return { ...own, url: '', cluster: clusterSeeds(authority, scheme === 'rediss') };
  }
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

function clusterSeeds(authority: string, tls: boolean): ClusterSeeds {
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? '' : authority.slice(0, at);
  const hosts = authority.slice(at + 1);
  const seeds: ClusterSeeds = { nodes: [], tls };
  if (userinfo !== '') {
    const colon = userinfo.indexOf(':');
    const user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (user !== '') seeds.username = user;
    if (colon >= 0) seeds.password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  for (const hostPort of hosts.split(',')) {
    const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(hostPort);
    if (!m?.[1]) throw new StoreError(`redis cluster URL: '${hostPort}' is not host:port`);
    seeds.nodes.push({ host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2] ?? 6379) });
  }
  return seeds;
}
