/**
 * `@conveyor/core`: the engine's public API, name by name. What only the sibling packages need (the
 * credit window their sessions share, listening, TLS, the socket layer) is in `./internal.ts`,
 * exported as `@conveyor/core/internal`; what neither lists (the routing table, the topic trie, the
 * in-memory queue state) is the engine's own.
 */

// The engine
export { Broker, type BrokerOptions } from './engine/broker.js';
export { VirtualHost } from './engine/virtual-host.js';
export type {
  DeclareQueueContext,
  NackOptions,
  PublishOptions,
  PublishResult,
  QueueInfo,
  QueueStats,
  ReceiveOptions,
  RedriveOptions,
  SubscribeOptions,
} from './engine/vhost-types.js';
export type { Delivery, DeliveryHandler } from './engine/delivery.js';
export type { LocalDelivery } from './engine/deliver.js';
export type {
  CancelOptions,
  ConsumeOptions,
  ConsumerCancelReason,
  ConsumerHandle,
} from './engine/consumer.js';
export {
  deadLetterToQueue,
  type DeadLetterTarget,
  type OverflowPolicy,
  type QueueOptions,
  type ResolvedQueueOptions,
} from './engine/queue-options.js';
export {
  checkPolicy,
  POLICY_TARGETS,
  type PolicyTarget,
  type QueuePolicy,
  type QueuePolicyDefinition,
} from './engine/queue-policies.js';
export type { DeadLetterReason } from './engine/dead-letter.js';
export type { EngineObserver } from './engine/engine-observer.js';
export { MemoryMonitor, type MemoryMonitorOptions } from './engine/memory-monitor.js';
export {
  Requester,
  Responder,
  type RequestOptions,
  type ResponderHandler,
  type ResponderOptions,
} from './engine/request-reply.js';

// Messages
export {
  bodyBytes,
  messageSize,
  type HeaderValue,
  type Headers,
  type MessageData,
  type MessageProperties,
  type MessageState,
  type OutgoingMessage,
  type PeekedMessage,
  type QueueRecordInput,
  type StoredMessage,
} from './message.js';

// Exchanges and bindings
export type {
  Binding,
  BindingDestination,
  ExchangeInfo,
  ExchangeKind,
  ExchangeOptions,
  ResolvedExchangeOptions,
} from './routing/types.js';

// Storage: the two embedded stores, and the interface another store implements
export { MemoryStore } from './store/memory-store.js';
export { LmdbStore, type LmdbStoreOptions } from './store/lmdb-store.js';
export type {
  CreateQueueOptions,
  EnqueueOptions,
  HolderId,
  MessageStore,
  MetadataStore,
  MetaWriteOptions,
  QueueStore,
  StoreCluster,
  MetaEntry,
  PeekOptions,
  QueueCounts,
  QueueKey,
  ReleaseOptions,
  TakeOptions,
} from './store/message-store.js';

// Errors
export {
  AccessRefusedError,
  BrokerClosedError,
  ConveyorError,
  ExchangeNotFoundError,
  InequivalentOptionError,
  InvalidArgumentError,
  isConveyorError,
  LeaseNotHeldError,
  MessageGoneError,
  MessageTooLargeError,
  PreconditionFailedError,
  QueueFullError,
  QueueInUseError,
  QueueNotEmptyError,
  QueueNotFoundError,
  RequestTimeoutError,
  ResourceLockedError,
  StoreError,
  VhostNotFoundError,
  type ConveyorErrorCode,
  type ConveyorErrorOptions,
} from './errors.js';

// Users, passwords and permissions
export {
  mayUseVhost,
  USER_TAGS,
  type HashingAlgorithm,
  type TopicPermission,
  type UserAccount,
  type UserTag,
  type VhostPermissions,
} from './auth/accounts.js';
export {
  Authenticator,
  GUEST_USER,
  type AuthAttempt,
  type AuthDoor,
  type AuthenticatorOptions,
  type AuthFailure,
  type AuthFailureReason,
  type AuthResult,
} from './auth/authenticator.js';
export {
  HASHING_ALGORITHMS,
  hashPassword,
  isPasswordHash,
  verifyPasswordHash,
} from './auth/password-hash.js';
export { Principal, type Permission, type ResourceKind, type TopicVariables } from './auth/principal.js';

// TLS, as a door's options take it
export type { CertificateIdentity, TlsListenerOptions } from './tls/index.js';
