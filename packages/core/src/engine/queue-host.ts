import type { MessageData } from '../message.js';
import type { MessageStore } from '../store/message-store.js';
import type { EngineObserver } from './engine-observer.js';
import type { EngineQueue } from './engine-queue.js';
import type { MemoryMonitor } from './memory-monitor.js';
import type { DeadLetterTarget } from './queue-options.js';

/** What a queue needs from the virtual host that owns it. */
export interface QueueHost {
  readonly vhost: string;
  readonly store: MessageStore;
  readonly memory: MemoryMonitor;
  readonly observer: EngineObserver;
  now(): number;
  /** Shared store: ready messages in a queue past which its publishers wait (BrokerOptions). */
  readonly queueDepthSoftLimit: number;
  /** The queues a dead-lettered message goes to (routing through the target exchange). */
  deadLetterQueues(target: DeadLetterTarget, message: MessageData): EngineQueue[];
  /** An auto-delete queue lost its last consumer, or an expiring queue went unused: delete it. */
  queueUnused(queue: EngineQueue): void;
  /** Its consumers came or went (a shared store counts every node's). */
  consumersChanged(queue: EngineQueue): void;
  /** A background step failed (a timer's sweep, a store write): log it, never crash. */
  backgroundError(err: unknown): void;
}
