export type {
  HolderId,
  MessageStore,
  MetadataStore,
  QueueStore,
  StoreCluster,
  MetaEntry,
  PeekOptions,
  QueueCounts,
  QueueKey,
  ReleaseOptions,
  TakeOptions,
} from './message-store.js';
export { EmbeddedStore } from './embedded-store.js';
export { MemoryStore } from './memory-store.js';
export { LmdbStore, type LmdbStoreOptions } from './lmdb-store.js';
export { InMemoryQueueState, type HolderIndex } from './queue-state.js';
