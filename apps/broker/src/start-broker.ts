import { Broker, LmdbStore, MemoryStore, type MessageStore } from '@conveyor/core';
import { pino, type Logger } from 'pino';
import { DEFAULT_DATA_DIR, type BrokerConfig, type StoreConfig } from './config.js';
import { StartError } from './errors.js';
import { LISTENERS, type ListenerModule } from './listeners.js';
import { ProtocolServers } from './protocol-servers.js';

export type StartBrokerOptions = Partial<BrokerConfig> & {
  /** Structured logs; default pino at `logLevel` on stderr. */
  logger?: Logger;
  /** The listeners to start; default LISTENERS (AMQP, MQTT, MQTT over WebSocket). */
  listeners?: readonly ListenerModule[];
};

export interface BoundListener {
  name: string;
  host: string;
  port: number;
}

export interface RunningBroker {
  readonly broker: Broker;
  /** What each listener actually bound (ephemeral ports resolved). */
  readonly listeners: readonly BoundListener[];
  /** Stops the listeners, then closes the engine (flushing the store). */
  close(): Promise<void>;
}

const DEFAULT_PORTS: Record<string, number> = { amqp: 5672, mqtt: 1883, 'mqtt-ws': 15675 };

function createStore(config: StoreConfig): MessageStore {
  switch (config.kind) {
    case 'memory':
      return new MemoryStore();
    case 'lmdb':
      return new LmdbStore({ path: config.dataDir });
    case 'shared':
      throw new StartError(
        'STORE_NOT_SUPPORTED',
        `--store ${config.url}: shared stores are not supported yet; use --data-dir DIR (durable) or --memory`,
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

/** Opens the engine on its store and starts every configured listener. Used by `conveyor start` and by tests. */
export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const logger = options.logger ?? pino({ level: options.logLevel ?? 'info' }, pino.destination(2));
  const storeConfig = options.store ?? { kind: 'lmdb', dataDir: DEFAULT_DATA_DIR };
  const bind = options.bind ?? '0.0.0.0';
  const ports = { ...DEFAULT_PORTS, ...options.ports };
  const store = createStore(storeConfig);
  const broker = await Broker.open({
    store,
    ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
    ...(options.memoryHighWatermarkBytes === undefined
      ? {}
      : { memoryHighWatermarkBytes: options.memoryHighWatermarkBytes }),
    onError: (err) => logger.error({ err }, 'engine background error'),
  });
  logger.info({ store: storeConfig }, 'engine open');
  broker.on('blocked', (bytes) =>
    logger.warn({ bytes }, 'memory high watermark reached: publishers blocked'),
  );
  broker.on('unblocked', (bytes) => logger.info({ bytes }, 'memory below watermark: publishers unblocked'));

  const servers = new ProtocolServers(broker, {
    ...(options.users === undefined ? {} : { users: options.users }),
    onError: (err) => logger.warn({ err }, 'protocol server error'),
  });
  const shutdown = async (): Promise<void> => {
    try {
      await servers.close();
    } finally {
      await broker.close();
    }
  };

  const listeners: BoundListener[] = [];
  try {
    for (const listener of options.listeners ?? LISTENERS) {
      const port = ports[listener.name];
      if (port === undefined || port === false) continue;
      let address;
      try {
        address = await listener.listen(servers, port, bind);
      } catch (err) {
        throw listenError(listener, bind, port, err);
      }
      listeners.push({ name: listener.name, host: address.address, port: address.port });
      logger.info({ listener: listener.name, address: address.address, port: address.port }, 'listening');
    }
  } catch (err) {
    await shutdown().catch((closeErr: unknown) =>
      logger.error({ err: closeErr }, 'cleanup after a failed start failed'),
    );
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    broker,
    listeners,
    close: () => (closing ??= shutdown()),
  };
}
