import type { IPublishPacket, MqttClient } from 'mqtt';
import type { LostHandler, SourceEndpoint, SourceMessage } from './endpoint.js';
import { BridgeError, redactUrl } from './errors.js';
import { topicWords } from './message.js';
import { connectMqtt } from './mqtt-connect.js';
import { fromMqttPacket } from './mqtt-properties.js';
import { MqttSequence } from './mqtt-sequence.js';

export interface MqttSourceOptions {
  url: string;
  /** PEM CA certificates a TLS peer's certificate is verified against (default: Node's trust store). */
  ca?: Buffer;
  /** Topic filter, subscribed at QoS 1. */
  topic: string;
  /** Fixed: the source broker keeps the persistent session (and its messages) under this id. */
  clientId: string;
  /** 4 = MQTT 3.1.1, 5 = MQTT 5.0. Default 5. */
  protocolVersion?: 4 | 5;
  /** Where the message sequence of the session is kept (ids for messages that carry none). */
  stateFile?: string;
  /** MQTT 5 Receive Maximum: messages the broker may have in flight to the bridge. */
  receiveMaximum?: number;
}

interface Pending {
  packetId: number | undefined;
  acked: boolean;
  numbered: boolean;
}

/** Tells mqtt.js not to send its own PUBACK: the bridge sends it once the sink confirmed. */
const DEFER_PUBACK = new Error('puback deferred to the bridge');

/**
 * A persistent MQTT session (clean = false, fixed client id, session expiry "never" on 5.0)
 * subscribed at QoS 1. PUBACKs are written by the bridge in the order the messages arrived
 * (as [MQTT-4.6.0-2] requires), each only after the sink confirmed it and every earlier one.
 */
export class MqttSource implements SourceEndpoint {
  readonly description: string;
  readonly #version: 4 | 5;
  #client: MqttClient | undefined;
  #sequence: MqttSequence | undefined;
  #generation = 0;
  #closing = false;
  #window: number;
  #blocked: (() => void) | undefined;
  #aborted = false;
  readonly #flushing = new Set<Promise<void>>();
  #onMessage: ((message: SourceMessage) => void) | undefined;
  #early: SourceMessage[] = [];
  #pending: { generation: number; entries: Pending[] } = { generation: 0, entries: [] };
  readonly #entries = new WeakMap<SourceMessage, Pending>();

  constructor(private readonly options: MqttSourceOptions) {
    this.#version = options.protocolVersion ?? 5;
    this.#window = options.receiveMaximum ?? 256;
    this.description = `${redactUrl(options.url)} topic '${options.topic}' as '${options.clientId}'`;
  }

  async open(onLost: LostHandler): Promise<void> {
    if (this.#aborted) {
      // After an abort (a crash), only what reached the disk counts: start again from the file.
      this.#aborted = false;
      this.#sequence = undefined;
    }
    this.#closing = false;
    this.#sequence ??= await MqttSequence.load(this.options.stateFile);
    this.#sequence.resume();
    const generation = ++this.#generation;
    this.#pending = { generation, entries: [] };
    this.#early = [];
    this.#onMessage = undefined;
    const what = `mqtt source ${this.description}`;
    // Messages of the stored session may arrive right after CONNACK, before `start`.
    const prepare = (client: MqttClient): void => {
      client.handleMessage = (packet, done) => {
        if (generation === this.#generation) this.#receive(packet, generation);
        const next = (): void => done(packet.qos === 1 ? DEFER_PUBACK : undefined);
        // mqtt.js reads the next packet only after `done`: holding it is the bridge's backpressure
        // (not before `start`: the SUBACK that `open` waits for may be behind these messages).
        const full = this.#onMessage !== undefined && this.#pending.entries.length >= this.#window;
        if (generation === this.#generation && full) this.#blocked = next;
        else next();
      };
    };
    const client = await connectMqtt(
      this.options.url,
      {
        ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
        clientId: this.options.clientId,
        clean: false,
        protocolVersion: this.#version,
        ...(this.#version === 5
          ? {
              properties: {
                sessionExpiryInterval: 0xffffffff,
                receiveMaximum: this.options.receiveMaximum ?? 256,
              },
            }
          : {}),
      },
      what,
      prepare,
    );
    client.on('error', () => undefined); // 'close' follows and reports it
    client.on('close', () => {
      if (this.#closing || generation !== this.#generation) return;
      this.#generation++;
      onLost(new BridgeError('ENDPOINT_LOST', 'mqtt source lost: connection closed'));
    });
    this.#client = client;
    try {
      const granted = await client.subscribeAsync(this.options.topic, { qos: 1 });
      if (granted.some((g) => g.qos > 2))
        throw new BridgeError('INVALID_CONFIG', `${what}: the broker refused the subscription`);
    } catch (err) {
      this.abort();
      throw err instanceof BridgeError
        ? err
        : new BridgeError('INVALID_CONFIG', `${what}: subscribe failed: ${String(err)}`);
    }
  }

  #receive(packet: IPublishPacket, generation: number): void {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const properties = fromMqttPacket(packet);
    const numbered = packet.qos === 1;
    // Every QoS 1 message takes its number, even one that carries an id, so numbering stays aligned.
    const derived = numbered ? this.#sequence!.next(packet.topic, payload) : undefined;
    if (properties.messageId === undefined && derived !== undefined) properties.messageId = derived;
    const entry: Pending = { packetId: numbered ? packet.messageId : undefined, acked: !numbered, numbered };
    if (numbered) this.#pending.entries.push(entry);
    const message: SourceMessage = {
      generation,
      message: { body: payload, properties, subject: topicWords(packet.topic) },
    };
    this.#entries.set(message, entry);
    if (this.#onMessage) this.#onMessage(message);
    else this.#early.push(message);
  }

  async start(onMessage: (message: SourceMessage) => void, window: number): Promise<void> {
    this.#window = window;
    this.#onMessage = onMessage;
    const early = this.#early;
    this.#early = [];
    for (const message of early) onMessage(message);
    this.#unblock();
  }

  async ack(message: SourceMessage): Promise<void> {
    const entry = this.#entries.get(message);
    if (entry === undefined || message.generation !== this.#generation) return;
    entry.acked = true;
    await this.#flush(message.generation);
  }

  /** MQTT has no negative ack: the message comes again when the bridge reconnects. */
  async nack(): Promise<void> {}

  /**
   * Sends the PUBACKs of the acked prefix, after its count is on disk. They go on the connection
   * the messages came on, even while it is being closed cleanly, so the count on disk and what the
   * broker saw acknowledged agree (see MqttSequence); a dropped connection gets none.
   */
  #flush(generation: number): Promise<void> {
    const pending = this.#pending;
    const client = this.#client;
    if (pending.generation !== generation || client === undefined) return Promise.resolve();
    let n = 0;
    while (n < pending.entries.length && pending.entries[n]!.acked) n++;
    if (n === 0) return Promise.resolve();
    const done = pending.entries.splice(0, n);
    this.#unblock();
    const flushed = this.#sequence!.commit(done.length).then(() => {
      if (this.#aborted || client.stream.destroyed) return;
      client.stream.write(Buffer.concat(done.map((entry) => pubackPacket(entry.packetId!))));
    });
    const tracked = flushed.finally(() => this.#flushing.delete(tracked));
    this.#flushing.add(tracked);
    return tracked;
  }

  #unblock(): void {
    const blocked = this.#blocked;
    if (blocked === undefined || this.#pending.entries.length >= this.#window) return;
    this.#blocked = undefined;
    blocked();
  }

  async backlog(): Promise<number | undefined> {
    return undefined;
  }

  /** Stops acking (later acks are dropped: those messages come again), sends the PUBACKs under way, disconnects. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#generation++;
    await Promise.allSettled([...this.#flushing]);
    const blocked = this.#blocked; // let mqtt.js go on: later messages are ignored and come again
    this.#blocked = undefined;
    blocked?.();
    const client = this.#client;
    this.#client = undefined;
    await client?.endAsync().catch(() => undefined);
  }

  abort(): void {
    this.#closing = true;
    this.#aborted = true;
    this.#sequence?.halt();
    this.#client?.stream.destroy();
    this.#client?.end(true);
    this.#client = undefined;
  }
}

/** PUBACK with reason Success: the same 4 bytes in 3.1.1 and 5.0 (5.0 may omit the reason code). */
function pubackPacket(packetId: number): Buffer {
  return Buffer.from([0x40, 0x02, packetId >> 8, packetId & 0xff]);
}
