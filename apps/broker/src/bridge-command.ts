// Bridges to legacy brokers (RabbitMQ, MQTT brokers): the `bridges:` section of `conveyor start`'s
// config, run inside the broker, and `conveyor bridge --config FILE`, the same bridges on their own.
// @conveyor/bridge (amqplib, mqtt.js) is loaded only when bridges are configured.
import type { Bridge, BridgeStatus } from '@conveyor/bridge';
import type { Broker } from '@conveyor/core';
import type { Command } from 'commander';
import { readDocument } from './config/config-file.js';
import { StartError } from './errors.js';

export interface RunningBridges {
  readonly bridges: readonly Bridge[];
  /** One entry per bridge (a request/reply bridge shows as two: requests and `.replies`). */
  status(): BridgeStatus[];
  /** Stops every bridge (in-flight messages finish first, up to 5 s). */
  close(): Promise<void>;
}

export interface BridgesContext {
  /** The broker's engine, for `conveyor:` endpoints. */
  broker?: Broker;
  /** Where MQTT sources keep their message sequence. */
  stateDir?: string;
  /** Told when a bridge loses a side (it reconnects by itself). */
  onError?: (bridge: string, err: Error) => void;
}

/**
 * Validates the `bridges:` list and starts every bridge; a bad entry, an unreachable host or a
 * missing queue fails the start with one line (config mistakes as StartError INVALID_OPTIONS).
 */
export async function startConfiguredBridges(
  section: unknown,
  context: BridgesContext = {},
): Promise<RunningBridges> {
  const { BridgeError, createBridges, parseBridgeConfigs, startBridges } = await import('@conveyor/bridge');
  let bridges: Bridge[];
  try {
    const configs = parseBridgeConfigs(section);
    bridges = createBridges(configs, {
      ...(context.broker === undefined ? {} : { broker: context.broker }),
      ...(context.stateDir === undefined ? {} : { stateDir: context.stateDir }),
      ...(context.onError === undefined
        ? {}
        : { onError: (err: Error, name: string) => context.onError?.(name, err) }),
    });
    await startBridges(bridges);
  } catch (err) {
    if (err instanceof BridgeError && (err.code === 'INVALID_CONFIG' || err.code === 'UNKNOWN_SCHEME'))
      throw new StartError('INVALID_OPTIONS', `config: ${err.message}`, { cause: err });
    throw err;
  }
  return {
    bridges,
    status: () => bridges.map((b) => b.status()),
    close: async () => {
      await Promise.all(bridges.map((b) => b.stop()));
    },
  };
}

interface BridgeFlags {
  config: string;
  dataDir?: string;
  stateDir?: string;
}

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`conveyor bridge: ${message}\n`);
  process.exit(err instanceof StartError && err.code === 'INVALID_OPTIONS' ? 2 : 1);
}

async function runBridges(flags: BridgeFlags): Promise<void> {
  const document = readDocument(flags.config, 'bridge config');
  const section =
    typeof document === 'object' && document !== null && !Array.isArray(document)
      ? (document as Record<string, unknown>).bridges
      : undefined;
  if (!Array.isArray(section) || section.length === 0)
    throw new StartError('INVALID_OPTIONS', `bridge config: ${flags.config} has no 'bridges:' list`);
  let broker: Broker | undefined;
  if (flags.dataDir !== undefined) {
    const { Broker: BrokerClass, LmdbStore } = await import('@conveyor/core');
    broker = await BrokerClass.open({ store: new LmdbStore({ path: flags.dataDir }) });
  }
  let running: RunningBridges;
  try {
    running = await startConfiguredBridges(section, {
      ...(broker === undefined ? {} : { broker }),
      stateDir: flags.stateDir ?? './bridge-state',
      onError: (name, err) =>
        process.stderr.write(`conveyor bridge: ${name}: ${err.message} (reconnecting)\n`),
    });
  } catch (err) {
    await broker?.close();
    throw err;
  }
  for (const s of running.status()) process.stdout.write(`bridge ${s.name}: ${s.source} -> ${s.sink}\n`);
  process.stdout.write('bridges ready\n');
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    clearInterval(keepAlive);
    process.stderr.write(`conveyor bridge: ${signal} received, closing\n`);
    running
      .close()
      .then(() => broker?.close())
      .then(
        () => process.exit(0),
        (err: unknown) => fail(err),
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** `conveyor bridge --config FILE`: the file's `bridges:` list, run without the broker's listeners. */
export function registerBridgeCommand(program: Command): void {
  program
    .command('bridge')
    .description(
      'run the bridges of a config file on their own (RabbitMQ, MQTT brokers, an embedded Conveyor store)',
    )
    .requiredOption('--config <file>', "YAML or JSON file with a 'bridges:' list")
    .option('--data-dir <dir>', 'open a Conveyor store (LMDB) here for conveyor: endpoints (no listeners)')
    .option('--state-dir <dir>', 'where MQTT sources keep their message sequence [default: ./bridge-state]')
    .action((flags: BridgeFlags) => runBridges(flags).catch(fail));
}
