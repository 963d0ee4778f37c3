export * from './codec/index.js';
export { AmqpServer, type AmqpConnectionInfo, type AmqpServerOptions, type AmqpUser } from './amqp-server.js';
// The session layer over any byte stream (the TCP server uses it; embedders may put it on WebSocket).
export { AmqpConnection, type ConnectionSettings } from './session/connection.js';
export type { ConnectionState, Transport } from './session/connection-state.js';
export { SocketTransport, type SocketTransportOptions } from '@conveyor/core/internal';
// amqplib's message properties ↔ the core's: the one mapping the bridge and the NestJS link use.
export {
  fromAmqplibProperties,
  toAmqplibOptions,
  type AmqplibProperties,
  type AmqplibPublishOptions,
} from './amqplib-properties.js';
