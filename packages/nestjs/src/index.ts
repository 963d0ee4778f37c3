export {
  Broadcast,
  CONVEYOR_TRANSPORT,
  OneWay,
  Request,
  broadcastPattern,
  specOf,
  type BroadcastOptions,
  type ConsumerOptions,
  type HandlerSpec,
  type OneWayOptions,
  type RequestHandlerOptions,
  type RetryPolicy,
} from './decorators.js';
export { ConveyorContext } from './conveyor-context.js';
export {
  ConveyorServer,
  type ConveyorServerEvents,
  type ConveyorServerOptions,
  type ConveyorStatus,
} from './conveyor-server.js';
export {
  ConveyorClient,
  type ConveyorClientEvents,
  type ConveyorClientOptions,
  type PeekedMessage,
  type ReceiveCallOptions,
  type RequestCallOptions,
  type SendOptions,
  type TopicPattern,
} from './conveyor-client.js';
export { deadLetterReason, type ReceivedMessage } from './received-message.js';
export {
  CONVEYOR_OPTIONS,
  ConveyorModule,
  type ConveyorFeatureClient,
  type ConveyorModuleAsyncOptions,
  type ConveyorModuleOptions,
} from './conveyor-module.js';
export { ConveyorHealthIndicator, type ConveyorHealthResult } from './health.js';
export {
  ConnectionLostError,
  ConveyorNestError,
  NonRetryableError,
  RemoteHandlerError,
  UnsupportedOperationError,
  type ConveyorNestErrorCode,
  type ErrorReply,
} from './errors.js';
export { DuplicateNestError } from './nest-copies.js';
export {
  AccessRefusedError,
  BrokerClosedError,
  MessageTooLargeError,
  PreconditionFailedError,
  QueueNotFoundError,
  RequestTimeoutError,
  isConveyorError,
  type ConveyorError,
  type ConveyorErrorCode,
} from '@conveyor/core';
export { JsonSerializer, type Encoded, type Serializer } from './serializer.js';
export type { ConveyorConnectionOptions } from './link/open-link.js';
export type { AmqpTuning } from './link/amqp-link.js';
export type { LinkMode, QueueCount, SettleOptions } from './link/link.js';
export { DEATH_DETAIL_HEADER, RETRY_COUNT_HEADER } from './link/amqp-link.js';
export { REPLY_STATUS_HEADER } from './message-runner.js';
