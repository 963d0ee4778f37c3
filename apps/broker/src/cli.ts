#!/usr/bin/env node
// `conveyor start`: the engine plus its protocol listeners in one process.
// stdout carries one plain line per listener ("amqp listening on 127.0.0.1:5672") and a final
// "conveyor ready"; structured logs go to stderr, so scripts can parse stdout.
import { Command, Option } from 'commander';
import { ENV_VARS, LOG_LEVELS, resolveConfig, type RawStartOptions } from './config.js';
import { StartError } from './errors.js';
import { startBroker, type RunningBroker } from './start-broker.js';

const STORE_KEYS: readonly (keyof RawStartOptions)[] = ['dataDir', 'memory', 'store'];

/** Flags win over `CONVEYOR_*` variables; a store chosen by flag ignores the store variables. */
function withEnvironment(flags: RawStartOptions, env: NodeJS.ProcessEnv): RawStartOptions {
  const merged: RawStartOptions = { ...flags };
  const storeFromFlags = STORE_KEYS.some((key) => flags[key] !== undefined);
  for (const key of Object.keys(ENV_VARS) as (keyof RawStartOptions)[]) {
    if (merged[key] !== undefined || (storeFromFlags && STORE_KEYS.includes(key))) continue;
    const value = env[ENV_VARS[key]];
    if (value === undefined || value === '') continue;
    if (key === 'memory') merged.memory = value === '1' || value.toLowerCase() === 'true';
    else merged[key] = value;
  }
  return merged;
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`conveyor: ${message}\n`);
  process.exit(err instanceof StartError && err.code === 'INVALID_OPTIONS' ? 2 : 1);
}

function stopOnSignals(running: RunningBroker): void {
  // Listeners keep the process alive; this keeps it alive when every listener is off too.
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1); // a second signal: give up on a clean close
    stopping = true;
    clearInterval(keepAlive);
    process.stderr.write(`conveyor: ${signal} received, closing\n`);
    running.close().then(
      () => process.exit(0),
      (err: unknown) => fail(err),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function start(flags: RawStartOptions): Promise<void> {
  const config = resolveConfig(withEnvironment(flags, process.env));
  const running = await startBroker(config);
  stopOnSignals(running);
  for (const listener of running.listeners)
    process.stdout.write(`${listener.name} listening on ${formatAddress(listener.host, listener.port)}\n`);
  process.stdout.write('conveyor ready\n');
}

const program = new Command('conveyor').description('Conveyor message broker').showHelpAfterError();
program
  .command('start')
  .description('run the broker: the engine with its AMQP 0-9-1 and MQTT listeners')
  .option('--data-dir <dir>', `durable store directory (LMDB) [default: ./data] (${ENV_VARS.dataDir})`)
  .option('--memory', `keep everything in memory, nothing on disk (${ENV_VARS.memory}=1)`)
  .option('--store <url>', `shared store URL: reserved, not supported yet (${ENV_VARS.store})`)
  .option(
    '--amqp-port <port>',
    `AMQP 0-9-1 port, 0 = any free port, "off" = none [default: 5672] (${ENV_VARS.amqpPort})`,
  )
  .option(
    '--mqtt-port <port>',
    `MQTT port, 0 = any free port, "off" = none [default: 1883] (${ENV_VARS.mqttPort})`,
  )
  .option(
    '--mqtt-ws-port <port>',
    `MQTT over WebSocket port, 0 = any free port, "off" = none [default: 15675] (${ENV_VARS.mqttWsPort})`,
  )
  .option('--bind <host>', `interface to listen on [default: 0.0.0.0, all interfaces] (${ENV_VARS.bind})`)
  .option(
    '--max-message-bytes <size>',
    `largest message body, e.g. 16MiB [default: 128MiB] (${ENV_VARS.maxMessageBytes})`,
  )
  .option(
    '--memory-high-watermark <size>',
    `message bytes held before publishers are blocked [default: 40% of RAM] (${ENV_VARS.memoryHighWatermark})`,
  )
  .addOption(
    new Option('--log-level <level>', `log level [default: info] (${ENV_VARS.logLevel})`).choices(LOG_LEVELS),
  )
  .action((flags: RawStartOptions) => start(flags).catch(fail));

await program.parseAsync(process.argv);
