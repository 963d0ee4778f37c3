export { Bridge, type BridgeOptions, type BridgeState, type BridgeStatus } from './bridge.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export type { LostHandler, SinkEndpoint, SinkOutcome, SourceEndpoint, SourceMessage } from './endpoint.js';
export { BridgeError, type BridgeErrorCode } from './errors.js';
export {
  rewriteSubject,
  routingKeyWords,
  topicWords,
  type BridgeMessage,
  type SubjectRewrite,
} from './message.js';
export { AmqpSource, type AmqpSourceOptions } from './amqp-source.js';
export { AmqpSink, type AmqpSinkOptions } from './amqp-sink.js';
export { MqttSource, type MqttSourceOptions } from './mqtt-source.js';
export { MqttSink, type MqttSinkOptions } from './mqtt-sink.js';
export { fromMqttPacket, toMqttPublishOptions, MESSAGE_ID_PROPERTY } from './mqtt-properties.js';
export { ConveyorSink, ConveyorSource, type BrokerRef, type ConveyorTarget } from './conveyor-endpoint.js';
export { requestReplyBridges, type RequestReplyBridgeOptions } from './request-reply.js';
export {
  createBridges,
  parseBridgeConfigs,
  startBridges,
  type BridgeConfig,
  type BridgeContext,
  type EndpointConfig,
} from './config.js';
