/**
 * `@conveyor/core/internal`: what Conveyor's own protocol packages and broker app share and a user
 * of the engine does not need. No stability promise beyond this repository's packages.
 */

// The credit window an AMQP channel and an MQTT session keep per consumer
export { CreditWindow } from './engine/delivery.js';

// Listening, plain or TLS, with certificate reload
export { certificateIdentity, tlsServerOptions, TlsServers, type ReloadableTlsServer } from './tls/index.js';
export { listenOn } from './transport/listen.js';

// The socket layer under every protocol connection
export {
  SocketTransport,
  WRITE_BUFFER_PAUSE,
  type SocketTransportOptions,
} from './transport/socket-transport.js';
