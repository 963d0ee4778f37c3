import type { SecureContextOptions } from 'node:tls';
import { AmqpServer } from '@conveyor/amqp';
import type { Authenticator, Broker } from '@conveyor/core';
import { MqttServer } from '@conveyor/mqtt';
import type { MqttLimits } from '@conveyor/mqtt/settings';
import { StartError } from './errors.js';
import type { ConnectionInfo } from './http/api-context.js';
import type { ManagementServer } from './http/management-server.js';

export interface ServerOptions {
  /** The one login check of every door. */
  authenticator: Authenticator;
  /** The user an MQTT CONNECT without a user name logs in as; none: such clients are refused. */
  mqttAnonymousUser?: string;
  /** MQTT over mutual TLS: the client certificate names the user. */
  mqttIdentityAsUsername?: boolean;
  /** Browser origins allowed on MQTT over WebSocket. */
  mqttWsAllowedOrigins?: string[];
  /** The MQTT server's protocol limits as configured (`mqtt:` keys). */
  mqttLimits?: MqttLimits;
  /** Per protocol server: connections beyond it are closed before the handshake. */
  maxConnections?: number;
  /** Largest message body the AMQP server accepts (the engine checks every door too). */
  maxMessageBytes?: number;
  /** Background failures of a door (a connection that broke badly). */
  onError: (err: unknown) => void;
  /** Builds the management HTTP server (it lists these servers' connections). */
  management?: (servers: ProtocolServers) => ManagementServer;
}

/** MQTT's largest remaining length is 268,435,455 bytes; headroom of 64 KiB for topic and properties. */
function mqttPacketLimit(maxMessageBytes: number): number {
  return Math.min(maxMessageBytes + 64 * 1024, 268_435_455);
}

/** Something that listens and can be closed: what the app shuts down on exit. */
interface Closable {
  close(): Promise<void>;
}

/** Creates each server once, on first use, and closes the ones it created. */
export class ProtocolServers {
  readonly #created: Closable[] = [];
  #amqp: AmqpServer | undefined;
  #mqtt: MqttServer | undefined;
  #management: ManagementServer | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly options: ServerOptions,
  ) {}

  #shared(): { authenticator: Authenticator; maxConnections?: number } {
    const { authenticator, maxConnections } = this.options;
    return { authenticator, ...(maxConnections === undefined ? {} : { maxConnections }) };
  }

  amqp(): AmqpServer {
    if (this.#amqp === undefined) {
      const { maxMessageBytes } = this.options;
      this.#amqp = new AmqpServer(this.broker, {
        ...this.#shared(),
        ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
        onError: this.options.onError,
      });
      this.#created.push(this.#amqp);
    }
    return this.#amqp;
  }

  /** One MQTT server serves both the TCP and the WebSocket listener (sessions are shared). */
  mqtt(): MqttServer {
    if (this.#mqtt === undefined) {
      const { maxMessageBytes } = this.options;
      this.#mqtt = new MqttServer(this.broker, {
        ...this.#shared(),
        ...(this.options.mqttAnonymousUser === undefined
          ? {}
          : { anonymousUser: this.options.mqttAnonymousUser }),
        ...(this.options.mqttWsAllowedOrigins === undefined
          ? {}
          : { wsAllowedOrigins: this.options.mqttWsAllowedOrigins }),
        identityAsUsername: this.options.mqttIdentityAsUsername ?? false,
        // Announced to 5.0 clients as Maximum Packet Size: the largest message plus room for its topic and properties.
        ...(maxMessageBytes === undefined ? {} : { maxPacketBytes: mqttPacketLimit(maxMessageBytes) }),
        // Set explicitly, the packet limit wins over the one derived from the message limit.
        ...this.options.mqttLimits,
        onError: this.options.onError,
      });
      this.#created.push(this.#mqtt);
    }
    return this.#mqtt;
  }

  management(): ManagementServer {
    if (this.#management === undefined) {
      if (!this.options.management)
        throw new StartError('LISTEN_FAILED', 'http: no management server configured');
      this.#management = this.options.management(this);
      this.#created.push(this.#management);
    }
    return this.#management;
  }

  /** New certificates for every TLS listener started so far; open connections keep theirs. */
  setSecureContext(context: SecureContextOptions): void {
    this.#amqp?.setSecureContext(context);
    this.#mqtt?.setSecureContext(context);
    this.#management?.setSecureContext(context);
  }

  /** Every open connection of the protocol servers started so far. */
  connections(): ConnectionInfo[] {
    return [...(this.#amqp?.connections() ?? []), ...(this.#mqtt?.connections() ?? [])];
  }

  get mqttQos0Dropped(): number {
    return this.#mqtt?.qos0Dropped ?? 0;
  }

  connectionCounts(): Record<'amqp' | 'mqtt', number> {
    return { amqp: this.#amqp?.connectionCount ?? 0, mqtt: this.#mqtt?.connectionCount ?? 0 };
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
