/** What the broker gives each of its virtual hosts. */
import type { MessageStore } from '../store/message-store.js';
import type { EngineObserver } from './engine-observer.js';
import type { MemoryMonitor } from './memory-monitor.js';

export interface VirtualHostSettings {
  store: MessageStore;
  memory: MemoryMonitor;
  maxMessageBytes: number;
  defaultLeaseMs: number;
  /** Shared store: see BrokerOptions.queueDepthSoftLimit. */
  queueDepthSoftLimit: number;
  onError: (err: unknown) => void;
  assertOpen: () => void;
  observer: EngineObserver;
  clock: () => number;
  /**
   * Shared store: brings this node up to the store's topology, for one metadata key or (none) all
   * of it, behind the changes already queued; resolves after.
   */
  catchUp: (key?: string) => Promise<void>;
}
