export * from './codec/index.js';
export { AmqpServer, type AmqpServerOptions, type AmqpUser } from './amqp-server.js';
