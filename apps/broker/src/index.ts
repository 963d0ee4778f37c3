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
export { loadStartConfig, mergeLayers } from './config/start-options.js';
export { validateConfig, loadConfigFile, loadUsersFile, type ConfigFile } from './config/config-file.js';
export { BrokerMetrics } from './metrics.js';
export type { RecoveryProgress } from './recovery-progress.js';
export type { ConnectionInfo } from './http/api-context.js';
