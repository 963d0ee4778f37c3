export {
  startBroker,
  type BoundListener,
  type RunningBroker,
  type StartBrokerOptions,
} from './start-broker.js';
export {
  resolveConfig,
  parseBytes,
  parsePort,
  ENV_VARS,
  type BrokerConfig,
  type BrokerUser,
  type LogLevel,
  type RawStartOptions,
  type StoreConfig,
} from './config.js';
export { StartError, type StartErrorCode } from './errors.js';
export { LISTENERS, type ListenerModule } from './listeners.js';
export type { ServerOptions } from './protocol-servers.js';
