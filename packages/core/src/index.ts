export * from './errors.js';
export * from './message.js';
export * from './store/index.js';
export * from './routing/index.js';
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
export { CreditWindow, type Delivery, type DeliveryHandler } from './engine/delivery.js';
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
export * from './mqtt-support/index.js';
export * from './auth/index.js';
export {
  certificateIdentity,
  listenOn,
  tlsServerOptions,
  TlsServers,
  type ReloadableTlsServer,
  type CertificateIdentity,
  type TlsListenerOptions,
} from './tls/index.js';
