import type { MetaEntry } from '@conveyor/core';
import { globalKeys } from './keys.js';
import type { RedisCalls } from './redis-calls.js';
import { decodeValue, encodeValue } from './value-codec.js';

/**
 * The store's metadata (topology, policies, users): one hash under the global prefix; every change
 * is announced on the `metaChanged` channel (keys.ts `storeChannels`) after it is written (and,
 * for a durable entry, waited for with `wait`: a transient one dies with its node anyway).
 */
export class RedisMetadata {
  constructor(private readonly calls: RedisCalls) {}

  get #hash(): string {
    return globalKeys.meta(this.calls.keys.global);
  }

  async load(prefix: string): Promise<MetaEntry[]> {
    const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    const found = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, flat] = await this.calls.guard(
        this.calls.redis.hscan(this.#hash, cursor, 'MATCH', match, 'COUNT', 1000),
      );
      for (let i = 0; i + 1 < flat.length; i += 2) found.set(flat[i] as string, flat[i + 1] as string);
      cursor = next;
    } while (cursor !== '0');
    return [...found.keys()].sort().map((k) => ({ key: k, value: decodeValue(found.get(k) as string) }));
  }

  async get(key: string): Promise<unknown> {
    const raw = await this.calls.guard(this.calls.redis.hget(this.#hash, key));
    return raw === null ? undefined : decodeValue(raw);
  }

  async put(key: string, value: unknown, durable: boolean): Promise<void> {
    await this.calls.guard(this.calls.redis.hset(this.#hash, key, encodeValue(value)));
    await this.#announce(key, durable);
  }

  async delete(key: string, durable: boolean): Promise<void> {
    await this.calls.guard(this.calls.redis.hdel(this.#hash, key));
    await this.#announce(key, durable);
  }

  async take(key: string): Promise<unknown> {
    // One transaction: of concurrent takers exactly one reads the value before it is gone.
    const results = await this.calls.guard(
      this.calls.redis.multi().hget(this.#hash, key).hdel(this.#hash, key).exec(),
    );
    const raw = results?.[0]?.[1] as string | null | undefined;
    if (raw === null || raw === undefined) return undefined;
    await this.#announce(key, true);
    return decodeValue(raw);
  }

  async #announce(key: string, durable: boolean): Promise<void> {
    if (durable) await this.calls.waitDurable(this.#hash);
    await this.calls.note(this.calls.channels.metaChanged, key);
  }
}
