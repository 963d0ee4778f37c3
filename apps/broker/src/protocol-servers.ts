import { AmqpServer } from '@conveyor/amqp';
import type { Broker } from '@conveyor/core';
import { MqttServer } from '@conveyor/mqtt';
import type { BrokerUser } from './config.js';

export interface ServerOptions {
  /** Default: each door's own (guest/guest from loopback only, as RabbitMQ). */
  users?: BrokerUser[];
  /** Background failures of a door (a connection that broke badly). */
  onError: (err: unknown) => void;
}

/** Something that listens and can be closed: what the app shuts down on exit. */
interface Closable {
  close(): Promise<void>;
}

/** Creates each protocol server once, on first use, and closes the ones it created. */
export class ProtocolServers {
  readonly #created: Closable[] = [];
  #amqp: AmqpServer | undefined;
  #mqtt: MqttServer | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly options: ServerOptions,
  ) {}

  #users(): { users?: BrokerUser[] } {
    return this.options.users === undefined ? {} : { users: this.options.users };
  }

  amqp(): AmqpServer {
    if (this.#amqp === undefined) {
      this.#amqp = new AmqpServer(this.broker, { ...this.#users(), onError: this.options.onError });
      this.#created.push(this.#amqp);
    }
    return this.#amqp;
  }

  /** One MQTT server serves both the TCP and the WebSocket listener (sessions are shared). */
  mqtt(): MqttServer {
    if (this.#mqtt === undefined) {
      this.#mqtt = new MqttServer(this.broker, this.#users());
      this.#created.push(this.#mqtt);
    }
    return this.#mqtt;
  }

  /** Closes every server created, last first; reports the first failure after trying them all. */
  async close(): Promise<void> {
    const failures: unknown[] = [];
    for (const server of this.#created.reverse())
      await server.close().catch((err: unknown) => failures.push(err));
    this.#created.length = 0;
    if (failures.length > 0) throw failures[0];
  }
}
