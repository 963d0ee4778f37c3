import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { LostHandler, SinkEndpoint, SinkOutcome } from './endpoint.js';
import { BridgeError, describeError, redactUrl } from './errors.js';
import type { BridgeMessage } from './message.js';
import { connectMqtt } from './mqtt-connect.js';
import { toMqttPublishOptions } from './mqtt-properties.js';

export interface MqttSinkOptions {
  url: string;
  /** PEM CA certificates a TLS peer's certificate is verified against (default: Node's trust store). */
  ca?: Buffer;
  /** Publish every message to this topic; default the message's subject joined with `/`. */
  topic?: string;
  /** Default a random `conveyor-bridge-…` id (a clean session: nothing to resume). */
  clientId?: string;
  /** 4 = MQTT 3.1.1, 5 = MQTT 5.0. Default 5. */
  protocolVersion?: 4 | 5;
}

/** Publishes at QoS 1; `send` resolves on PUBACK. */
export class MqttSink implements SinkEndpoint {
  readonly description: string;
  readonly #version: 4 | 5;
  #client: MqttClient | undefined;
  #closing = false;

  constructor(private readonly options: MqttSinkOptions) {
    this.#version = options.protocolVersion ?? 5;
    this.description = `${redactUrl(options.url)} ${options.topic === undefined ? 'topic from subject' : `topic '${options.topic}'`}`;
  }

  async open(onLost: LostHandler): Promise<void> {
    this.#closing = false;
    const client = await connectMqtt(
      this.options.url,
      {
        ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
        clientId: this.options.clientId ?? `conveyor-bridge-${randomBytes(6).toString('hex')}`,
        clean: true,
        protocolVersion: this.#version,
      },
      `mqtt sink ${this.description}`,
    );
    client.on('error', () => undefined);
    client.on('close', () => {
      if (this.#closing || this.#client !== client) return;
      this.#client = undefined;
      onLost(new BridgeError('ENDPOINT_LOST', 'mqtt sink lost: connection closed'));
    });
    this.#client = client;
  }

  async send(message: BridgeMessage): Promise<SinkOutcome> {
    const client = this.#client;
    if (client === undefined) throw new BridgeError('ENDPOINT_LOST', 'mqtt sink is not open');
    const topic = this.options.topic ?? message.subject.join('/');
    const options = toMqttPublishOptions(message.properties, this.#version);
    try {
      await client.publishAsync(
        topic,
        Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength),
        options,
      );
    } catch (err) {
      throw new BridgeError('REJECTED', `mqtt sink: publish to '${topic}' failed: ${describeError(err)}`, {
        cause: err,
      });
    }
    return 'stored';
  }

  async close(): Promise<void> {
    this.#closing = true;
    const client = this.#client;
    this.#client = undefined;
    await client?.endAsync().catch(() => undefined);
  }

  abort(): void {
    this.#closing = true;
    this.#client?.stream.destroy();
    this.#client?.end(true);
    this.#client = undefined;
  }
}
