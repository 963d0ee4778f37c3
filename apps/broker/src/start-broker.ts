import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Authenticator, Broker, GUEST_USER, LmdbStore, MemoryStore, type MessageStore } from '@conveyor/core';
import type { BridgeStatus } from '@conveyor/bridge';
import { RedisStore } from '@conveyor/store-redis';
import { pino, type Logger } from 'pino';
import { DEFAULT_DATA_DIR, type BrokerConfig, type BrokerUser, type StoreConfig } from './config.js';
import { startConfiguredBridges, type RunningBridges } from './bridge-command.js';
import { loadImportedUsers } from './definitions/imported-users.js';
import { importDefinitions } from './definitions/import-definitions.js';
import { StartError } from './errors.js';
import { DeliveryRegistry } from './http/delivery-registry.js';
import { ManagementServer } from './http/management-server.js';
import { LISTENERS, type ListenerModule } from './listeners.js';
import { BrokerMetrics } from './metrics.js';
import { MQTT_LIMIT_KEYS, type MqttLimits } from '@conveyor/mqtt/settings';
import { ProtocolServers } from './protocol-servers.js';
import { openWithProgress, type RecoveryProgress } from './recovery-progress.js';
import { loadTls } from './tls-files.js';

export type StartBrokerOptions = Partial<BrokerConfig> & {
  /** Structured logs; default pino at `logLevel` on stderr. */
  logger?: Logger;
  /** The listeners to start; default LISTENERS (AMQP, MQTT, MQTT over WebSocket, management HTTP). */
  listeners?: readonly ListenerModule[];
  /** Told while recovery at start is slow (after `progressAfterMs`, default 1 s), and when it is done. */
  onRecoveryProgress?: (progress: RecoveryProgress) => void;
  progressAfterMs?: number;
};

export interface BoundListener {
  name: string;
  host: string;
  port: number;
}

export interface RunningBroker {
  readonly broker: Broker;
  /** The Prometheus registry and rates behind /metrics and the API. */
  readonly metrics: BrokerMetrics;
  /** What each listener actually bound (ephemeral ports resolved). */
  readonly listeners: readonly BoundListener[];
  /** The config's bridges (`bridges:`), with their status; absent when none are configured. */
  readonly bridges?: RunningBridges;
  /** Reads the certificate files again and gives them to every TLS listener (SIGHUP). */
  reloadTls(): void;
  /** Stops the listeners, then closes the engine (flushing the store). */
  close(): Promise<void>;
}

const DEFAULT_PORTS: Record<string, number> = {
  amqp: 5672,
  mqtt: 1883,
  'mqtt-ws': 15675,
  http: 15672,
  amqps: 5671,
  mqtts: 8883,
  'mqtt-wss': 15676,
  https: 15671,
};

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function createStore(config: StoreConfig, logger: Logger): MessageStore {
  switch (config.kind) {
    case 'memory':
      return new MemoryStore();
    case 'lmdb':
      return new LmdbStore({ path: config.dataDir });
    case 'shared':
      if (/^rediss?(\+cluster)?:\/\//.test(config.url))
        return new RedisStore({
          url: config.url,
          onError: (err) => logger.error({ err }, 'redis store'),
          onConnection: (event) =>
            event.state === 'lost'
              ? logger.error(
                  { err: event.error, connection: event.connection },
                  'redis connection lost, reconnecting',
                )
              : logger.info(
                  {
                    connection: event.connection,
                    downMs: event.downMs,
                    failedReconnects: event.failedReconnects,
                  },
                  'redis connection restored',
                ),
        });
      throw new StartError(
        'STORE_NOT_SUPPORTED',
        `--store ${config.url}: only redis://, rediss:// and redis+cluster://h1:p1,h2:p2 shared stores are supported; or use --data-dir DIR (durable) or --memory`,
      );
  }
}

function listenError(listener: ListenerModule, host: string, port: number, err: unknown): StartError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = `${host}:${port}`;
  if (code === 'EADDRINUSE') {
    return new StartError(
      'PORT_IN_USE',
      `${listener.name}: port ${port} on ${host} is already in use (${listener.likelyHolder}?); choose another with ${listener.portFlag} PORT (0 = any free port)`,
      { cause: err },
    );
  }
  if (code === 'EACCES') {
    return new StartError(
      'LISTEN_FAILED',
      `${listener.name}: not allowed to listen on ${where}; choose a port above 1023 with ${listener.portFlag} PORT`,
      { cause: err },
    );
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new StartError('LISTEN_FAILED', `${listener.name}: cannot listen on ${where}: ${reason}`, {
    cause: err,
  });
}

/** One login check for every door: failures counted in /metrics and logged (never the password). */
function createAuthenticator(
  users: BrokerUser[] | undefined,
  metrics: BrokerMetrics,
  logger: Logger,
): Authenticator {
  const plain = (users ?? []).filter((u) => u.password !== undefined).map((u) => u.username);
  if (plain.length > 0)
    logger.warn(
      { users: plain },
      'users with a plain-text password: store a passwordHash instead (conveyor hash-password)',
    );
  return new Authenticator(users ?? [GUEST_USER], {
    onFailure: (failure) => {
      metrics.authFailed(failure);
      logger.warn(failure, 'login refused');
    },
  });
}

/**
 * Before any listener: users an earlier definitions import added (kept in the store), then the
 * `--definitions` file, so the first client already finds its users and topology.
 */
async function applyStoredDefinitions(
  options: StartBrokerOptions,
  broker: Broker,
  authenticator: Authenticator,
  logger: Logger,
): Promise<void> {
  for (const user of await loadImportedUsers(broker.store)) {
    if (authenticator.has(user.username))
      logger.info(
        { user: user.username },
        'user from an earlier definitions import replaces the configured one',
      );
    authenticator.put(user);
  }
  const file = options.definitions;
  if (file === undefined) return;
  try {
    const summary = await importDefinitions({ broker, authenticator }, file.document);
    logger.info({ file: file.path, ...summary }, 'definitions applied');
  } catch (err) {
    throw new StartError('DEFINITIONS_FAILED', `definitions ${file.path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The `mqtt:` protocol limits that were set, for the MQTT server. */
function mqttLimitsOf(options: StartBrokerOptions): { mqttLimits?: MqttLimits } {
  const config = options.mqtt ?? {};
  const limits: MqttLimits = {};
  for (const key of MQTT_LIMIT_KEYS)
    if (config[key] !== undefined) Object.assign(limits, { [key]: config[key] });
  return Object.keys(limits).length === 0 ? {} : { mqttLimits: limits };
}

function anonymousMqtt(options: StartBrokerOptions): { mqttAnonymousUser?: string } {
  const configured = options.mqtt?.anonymousUser;
  if (configured !== undefined) return { mqttAnonymousUser: configured };
  return options.users === undefined ? { mqttAnonymousUser: GUEST_USER.username } : {};
}

/** Opens the engine on its store and starts every configured listener. Used by `conveyor start` and by tests. */
export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const logger = options.logger ?? pino({ level: options.logLevel ?? 'info' }, pino.destination(2));
  // Certificates first: a bad one stops the start before the store is opened.
  const tls = options.tls === undefined ? undefined : loadTls(options.tls);
  const storeConfig = options.store ?? { kind: 'lmdb', dataDir: DEFAULT_DATA_DIR };
  const bind = options.bind ?? '0.0.0.0';
  const ports = { ...DEFAULT_PORTS, ...options.ports };
  const store = createStore(storeConfig, logger);
  // Metrics exist before the engine (its recovery already counts) and before the servers.
  const live: { broker?: Broker; servers?: ProtocolServers; bridges?: RunningBridges } = {};
  const bridgeStatus = (): BridgeStatus[] => live.bridges?.status() ?? [];
  const metrics = new BrokerMetrics({
    broker: () => live.broker,
    connections: () => live.servers?.connectionCounts() ?? { amqp: 0, mqtt: 0 },
    bridges: bridgeStatus,
    mqttQos0Dropped: () => live.servers?.mqttQos0Dropped ?? 0,
  });
  const startedAt = Date.now();
  const broker = await openWithProgress(
    {
      store,
      observer: metrics.observer,
      ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
      ...(options.queueDepthSoftLimit === undefined
        ? {}
        : { queueDepthSoftLimit: options.queueDepthSoftLimit }),
      ...(options.memoryHighWatermarkBytes === undefined
        ? {}
        : { memoryHighWatermarkBytes: options.memoryHighWatermarkBytes }),
      onError: (err) => {
        metrics.backgroundError('engine');
        logger.error({ err }, 'engine background error');
      },
    },
    options.progressAfterMs ?? 1000,
    options.onRecoveryProgress ?? ((progress) => logger.info(progress, 'recovery')),
  );
  live.broker = broker;
  logger.info({ store: storeConfig }, 'engine open');
  if (store instanceof RedisStore && store.persistence?.warning)
    logger.warn(store.persistence, store.persistence.warning);
  broker.on('blocked', (bytes) =>
    logger.warn({ bytes }, 'memory high watermark reached: publishers blocked'),
  );
  broker.on('unblocked', (bytes) => logger.info({ bytes }, 'memory below watermark: publishers unblocked'));

  const maxMessageBytes = options.maxMessageBytes ?? 128 * 1024 * 1024;
  const authenticator = createAuthenticator(options.users, metrics, logger);
  const protocolServers = new ProtocolServers(broker, {
    authenticator,
    // Without a users file anonymous MQTT is guest (from loopback only); with one, only as configured.
    ...anonymousMqtt(options),
    ...mqttLimitsOf(options),
    ...(options.mqtt?.identityAsUsername === undefined
      ? {}
      : { mqttIdentityAsUsername: options.mqtt.identityAsUsername }),
    ...(options.mqtt?.wsAllowedOrigins === undefined
      ? {}
      : { mqttWsAllowedOrigins: options.mqtt.wsAllowedOrigins }),
    ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
    ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes }),
    onError: (err) => {
      metrics.backgroundError('protocol');
      logger.warn({ err }, 'protocol server error');
    },
    management: (all) =>
      new ManagementServer(
        {
          broker,
          metrics,
          deliveries: new DeliveryRegistry(),
          connections: () => all.connections(),
          bridges: bridgeStatus,
          store: storeConfig.kind,
          startedAt,
          version: packageVersion(),
        },
        {
          authenticator,
          ...(options.http?.allowedHosts === undefined ? {} : { allowedHosts: options.http.allowedHosts }),
          // A message as base64 in JSON, plus room for its properties.
          maxBodyBytes: Math.ceil(maxMessageBytes * 1.4) + 1024 * 1024,
          onError: (err) => {
            metrics.backgroundError('management');
            logger.error({ err }, 'management API error');
          },
        },
      ),
  });
  live.servers = protocolServers;
  let bridges: RunningBridges | undefined;
  const shutdown = async (): Promise<void> => {
    try {
      await bridges?.close(); // before the engine: their in-flight messages finish first
      await protocolServers.close();
    } finally {
      await broker.close();
    }
  };

  const listeners: BoundListener[] = [];
  try {
    await applyStoredDefinitions(options, broker, authenticator, logger);
    for (const listener of options.listeners ?? LISTENERS) {
      const port = ports[listener.name];
      if (port === undefined || port === false) continue;
      if (listener.tls && tls === undefined) continue;
      let address;
      try {
        address = await listener.listen(protocolServers, port, bind, listener.tls ? tls : undefined);
      } catch (err) {
        throw listenError(listener, bind, port, err);
      }
      listeners.push({ name: listener.name, host: address.address, port: address.port });
      logger.info({ listener: listener.name, address: address.address, port: address.port }, 'listening');
    }
    if (options.bridges !== undefined && options.bridges.length > 0)
      bridges = await startConfiguredBridges(options.bridges, {
        broker,
        ...(storeConfig.kind === 'lmdb' ? { stateDir: join(storeConfig.dataDir, 'bridges') } : {}),
        onError: (name, err) => logger.warn({ bridge: name, err }, 'bridge lost a side; reconnecting'),
      });
    live.bridges = bridges;
  } catch (err) {
    await shutdown().catch((closeErr: unknown) =>
      logger.error({ err: closeErr }, 'cleanup after a failed start failed'),
    );
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    broker,
    metrics,
    listeners,
    ...(bridges === undefined ? {} : { bridges }),
    reloadTls: () => {
      if (options.tls === undefined) return;
      protocolServers.setSecureContext(loadTls(options.tls).context);
      logger.info({ cert: options.tls.certFile }, 'certificates reloaded');
    },
    close: () => (closing ??= shutdown()),
  };
}
