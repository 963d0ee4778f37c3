export {
  RedisStore,
  type RedisConnectionEvent,
  type RedisConnectionName,
  type RedisStoreOptions,
  type RedisWaitOption,
} from './redis-store.js';
export type { RedisPersistence } from './redis-persistence.js';
export { keyLayout, type KeyLayout, type QueueKeyName } from './keys.js';
