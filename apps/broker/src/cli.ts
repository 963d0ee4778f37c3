#!/usr/bin/env node
// `conveyor start`: the engine plus its protocol listeners in one process.
// stdout carries one plain line per listener ("amqp listening on 127.0.0.1:5672") and a final
// "conveyor ready"; structured logs go to stderr, so scripts can parse stdout.
// The other subcommands (queues, peek, send, …) talk to a running broker over its HTTP API.
import { Command, Option } from 'commander';
import { registerBridgeCommand } from './bridge-command.js';
import { registerAdminCommands } from './cli/admin-commands.js';
import { registerDefinitionsCommand } from './cli/definitions-command.js';
import { registerPolicyCommands } from './cli/policy-commands.js';
import { registerHashPassword } from './cli/hash-password.js';
import { ENV_VARS, LOG_LEVELS, type RawStartOptions } from './config.js';
import { StartError } from './errors.js';
import type { RecoveryProgress } from './recovery-progress.js';
import type { RunningBroker } from './start-broker.js';

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`conveyor: ${message}\n`);
  const usage = err instanceof StartError && (err.code === 'INVALID_OPTIONS' || err.code === 'TLS_INVALID');
  process.exit(usage ? 2 : 1);
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
  // New certificates without a restart; a bad file keeps the old ones and says why.
  process.on('SIGHUP', () => {
    try {
      running.reloadTls();
      process.stderr.write('conveyor: SIGHUP received, certificates reloaded\n');
    } catch (err) {
      process.stderr.write(
        `conveyor: SIGHUP: kept the old certificates: ${err instanceof Error ? err.message : String(err)}\n`,
      );
    }
  });
}

function printProgress(progress: RecoveryProgress): void {
  const seconds = (progress.elapsedMs / 1000).toFixed(1);
  process.stderr.write(
    progress.phase === 'recovering'
      ? `conveyor: recovering the store… ${seconds} s\n`
      : `conveyor: recovered ${progress.messages} messages in ${progress.queues} queues in ${seconds} s\n`,
  );
}

async function start(flags: RawStartOptions): Promise<void> {
  // Loaded here, not at the top: the operator subcommands need none of the broker's modules.
  const { loadStartConfig } = await import('./config/start-options.js');
  const { startBroker } = await import('./start-broker.js');
  const config = loadStartConfig(flags, process.env);
  const running = await startBroker({ ...config, onRecoveryProgress: printProgress });
  stopOnSignals(running);
  for (const listener of running.listeners)
    process.stdout.write(`${listener.name} listening on ${formatAddress(listener.host, listener.port)}\n`);
  process.stdout.write('conveyor ready\n');
}

const port = (what: string, fallback: number, env: string): string =>
  `${what} port, 0 = any free port, "off" = none [default: ${fallback}] (${env})`;

const program = new Command('conveyor').description('Conveyor message broker').showHelpAfterError();
program
  .command('start')
  .description('run the broker: the engine with its AMQP 0-9-1, MQTT and management HTTP listeners')
  .option('--config <file>', `YAML or JSON config file; flags and variables win over it (${ENV_VARS.config})`)
  .option('--data-dir <dir>', `durable store directory (LMDB) [default: ./data] (${ENV_VARS.dataDir})`)
  .option('--memory', `keep everything in memory, nothing on disk (${ENV_VARS.memory}=1)`)
  .option(
    '--store <url>',
    `shared store URL: redis://host:port, or a Redis Cluster as redis+cluster://h1:p1,h2:p2 (${ENV_VARS.store})`,
  )
  .option('--amqp-port <port>', port('AMQP 0-9-1', 5672, ENV_VARS.amqpPort))
  .option('--mqtt-port <port>', port('MQTT', 1883, ENV_VARS.mqttPort))
  .option('--mqtt-ws-port <port>', port('MQTT over WebSocket', 15675, ENV_VARS.mqttWsPort))
  .option('--http-port <port>', port('management HTTP API, metrics and dashboard', 15672, ENV_VARS.httpPort))
  .option('--bind <host>', `interface to listen on [default: 0.0.0.0, all interfaces] (${ENV_VARS.bind})`)
  .option(
    '--users <file>',
    `YAML or JSON list of {username, password or passwordHash, loopbackOnly, vhosts, tags, permissions, topicPermissions}, or a RabbitMQ definitions export [default: guest/guest, loopback only] (${ENV_VARS.users})`,
  )
  .option(
    '--definitions <file>',
    `RabbitMQ definitions JSON (queues, exchanges, bindings, vhosts, users, permissions) applied at every start (${ENV_VARS.definitions})`,
  )
  .option(
    '--max-connections <n>',
    `connections per protocol (AMQP; MQTT); more are closed at once [default: no limit] (${ENV_VARS.maxConnections})`,
  )
  .option(
    '--queue-depth-soft-limit <n>',
    `shared store: ready messages in a queue past which publishers on every node wait for their confirms [default: 100000] (${ENV_VARS.queueDepthSoftLimit})`,
  )
  .option(
    '--max-message-bytes <size>',
    `largest message body, e.g. 16MiB [default: 128MiB] (${ENV_VARS.maxMessageBytes})`,
  )
  .option(
    '--memory-high-watermark <size>',
    `message bytes held before publishers are blocked [default: 40% of RAM] (${ENV_VARS.memoryHighWatermark})`,
  )
  .option('--tls-cert <file>', `PEM certificate (chain) of the TLS listeners (${ENV_VARS.tlsCert})`)
  .option('--tls-key <file>', `PEM private key of --tls-cert (${ENV_VARS.tlsKey})`)
  .option(
    '--tls-ca <file>',
    `PEM CA certificates client certificates are verified against (${ENV_VARS.tlsCa})`,
  )
  .option('--tls-verify-client', `require a client certificate (mutual TLS) (${ENV_VARS.tlsVerifyClient}=1)`)
  .option('--amqps-port <port>', port('AMQP over TLS (with --tls-cert)', 5671, ENV_VARS.amqpsPort))
  .option('--mqtts-port <port>', port('MQTT over TLS (with --tls-cert)', 8883, ENV_VARS.mqttsPort))
  .option(
    '--mqtt-wss-port <port>',
    port('MQTT over secure WebSocket (with --tls-cert)', 15676, ENV_VARS.mqttWssPort),
  )
  .option(
    '--https-port <port>',
    port('management API over HTTPS (with --tls-cert)', 15671, ENV_VARS.httpsPort),
  )
  .option(
    '--mqtt-anonymous-user <name>',
    `user an MQTT CONNECT without user name logs in as [default: guest without --users, else none] (${ENV_VARS.mqttAnonymousUser})`,
  )
  .addOption(
    new Option('--log-level <level>', `log level [default: info] (${ENV_VARS.logLevel})`).choices(LOG_LEVELS),
  )
  .action((flags: RawStartOptions) => start(flags).catch(fail));

registerAdminCommands(program);
registerDefinitionsCommand(program);
registerPolicyCommands(program);
registerBridgeCommand(program);
registerHashPassword(program);

await program.parseAsync(process.argv);
