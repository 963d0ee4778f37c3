import type { AddressInfo } from 'node:net';
import type { Broker } from '@conveyor/core';
import type { BrokerUser } from './config.js';

/** What `conveyor start` needs from a protocol door (packages/amqp, packages/mqtt). */
export interface ProtocolServer {
  listen(port: number, host?: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

export interface MqttProtocolServer extends ProtocolServer {
  listenWebSocket(port: number, host?: string): Promise<AddressInfo>;
}

export interface ServerOptions {
  users?: BrokerUser[];
}

type ServerClass<T> = new (broker: Broker, options: ServerOptions) => T;

/**
 * A door's server class, or undefined while its package does not export it yet.
 * TODO(amqp/mqtt wiring): the doors are being written alongside this app; once both packages
 * export their server classes, replace this probe by static imports (see protocol-servers.ts).
 */
function exported<T>(module: object, name: string): ServerClass<T> | undefined {
  const value: unknown = Reflect.get(module, name);
  return typeof value === 'function' ? (value as ServerClass<T>) : undefined;
}

/** Creates each protocol server once, on first use, and closes the ones it created. */
export class ProtocolServers {
  readonly #created: ProtocolServer[] = [];
  #amqp: Promise<ProtocolServer | undefined> | undefined;
  #mqtt: Promise<MqttProtocolServer | undefined> | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly options: ServerOptions,
  ) {}

  amqp(): Promise<ProtocolServer | undefined> {
    this.#amqp ??= import('@conveyor/amqp').then((module) => this.#create(exported<ProtocolServer>(module, 'AmqpServer')));
    return this.#amqp;
  }

  mqtt(): Promise<MqttProtocolServer | undefined> {
    this.#mqtt ??= import('@conveyor/mqtt').then((module) => this.#create(exported<MqttProtocolServer>(module, 'MqttServer')));
    return this.#mqtt;
  }

  #create<T extends ProtocolServer>(Server: ServerClass<T> | undefined): T | undefined {
    if (Server === undefined) return undefined;
    const server = new Server(this.broker, this.options);
    this.#created.push(server);
    return server;
  }

  /** Closes every server created, last first; reports the first failure after trying them all. */
  async close(): Promise<void> {
    const failures: unknown[] = [];
    for (const server of this.#created.reverse()) await server.close().catch((err: unknown) => failures.push(err));
    this.#created.length = 0;
    if (failures.length > 0) throw failures[0];
  }
}
