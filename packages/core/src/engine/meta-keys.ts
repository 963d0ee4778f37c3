import type { Headers } from '../message.js';
import type { BindingDestination, ExchangeKind, ExchangeOptions } from '../routing/index.js';
import type { ResolvedQueueOptions } from './queue-options.js';

/**
 * Keys under which topology lives in the store's metadata (durable topology; with a shared store
 * all of it). Each component is URI-encoded, so names may contain any character (`/` included).
 */
const enc = encodeURIComponent;

export const metaKeys = {
  vhostPrefix: 'vhost/',
  vhost: (vhost: string) => `vhost/${enc(vhost)}`,
  exchangePrefix: (vhost: string) => `exchange/${enc(vhost)}/`,
  exchange: (vhost: string, name: string) => `exchange/${enc(vhost)}/${enc(name)}`,
  queuePrefix: (vhost: string) => `queue/${enc(vhost)}/`,
  queue: (vhost: string, name: string) => `queue/${enc(vhost)}/${enc(name)}`,
  bindingPrefix: (vhost: string) => `binding/${enc(vhost)}/`,
  policyPrefix: (vhost: string) => `policy/${enc(vhost)}/`,
  policy: (vhost: string, name: string) => `policy/${enc(vhost)}/${enc(name)}`,
  binding: (
    vhost: string,
    source: string,
    destination: BindingDestination,
    routingKey: string,
    args: Headers,
  ) =>
    `binding/${enc(vhost)}/${enc(source)}/${destination.kind}/${enc(destination.name)}/${enc(routingKey)}/${enc(stableJson(args))}`,
};

export type TopologyKey =
  | { kind: 'vhost'; vhost: string }
  | { kind: 'exchange' | 'queue' | 'policy'; vhost: string; name: string }
  | { kind: 'binding'; vhost: string };

/** What a topology key names (its vhost, and the exchange's or queue's name); undefined for other keys. */
export function parseTopologyKey(key: string): TopologyKey | undefined {
  const [kind, vhost, name] = key.split('/');
  if (vhost === undefined) return undefined;
  const dec = decodeURIComponent;
  switch (kind) {
    case 'vhost':
    case 'binding':
      return { kind, vhost: dec(vhost) };
    case 'exchange':
    case 'queue':
    case 'policy':
      return name === undefined ? undefined : { kind, vhost: dec(vhost), name: dec(name) };
    default:
      return undefined;
  }
}

/** The store key of a queue: vhost-qualified. */
export function queueKey(vhost: string, queue: string): string {
  return `${enc(vhost)}/${queue}`;
}

export interface ExchangeRecord {
  name: string;
  kind: ExchangeKind;
  options: ExchangeOptions;
  /** Shared store, transient exchange: the node it lives and dies with. */
  node?: string;
}

export interface QueueRecord {
  name: string;
  options: ResolvedQueueOptions;
  /** Shared store, transient or exclusive queue: the node it lives and dies with. */
  node?: string;
  /** Exclusive queue: the owning connection or session on `node`. */
  owner?: string;
  /** Shared store: the declaring node, which alone applies auto-delete and expiry. */
  home?: string;
}

export interface BindingRecord {
  source: string;
  destination: BindingDestination;
  routingKey: string;
  arguments: Headers;
}

/** JSON with sorted keys, so equal argument tables give equal keys. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}
