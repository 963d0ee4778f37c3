/**
 * The MQTT server's settings, checked when the server is made: a value the protocol cannot carry
 * (a Receive Maximum of 0, a keep-alive past 65,535 s) is refused with the setting's name rather
 * than announced to clients.
 */
import { InvalidArgumentError } from '@conveyor/core';
import type { MqttServerOptions } from './context.js';

/** Largest packet MQTT can frame: a remaining length of 268,435,455 plus a 5-byte fixed header. */
export const MAX_PACKET_BYTES = 268_435_455 + 5;

/** Bytes that may wait for a QoS 0 subscriber before its copies are dropped (see Qos0Direct). */
export const DEFAULT_QOS0_BUFFER_BYTES = 4 * 1024 * 1024;

/** The whole-number settings and their [min, max]: what the protocol can carry (the broker app checks its config keys against these). */
export const MQTT_SETTING_RANGES = {
  keepAliveMaxSeconds: [1, 65_535], // a two-byte field [MQTT-3.1.2.10]
  receiveMaximum: [1, 65_535], // 0 is a protocol error [MQTT-3.2.2.3.3]
  topicAliasMaximum: [0, 65_535],
  defaultInflight: [1, 65_535],
  maxPacketBytes: [16, MAX_PACKET_BYTES],
  maxConnections: [1, Number.MAX_SAFE_INTEGER],
  // Twice the socket's 1 MiB high mark at least: past the mark the publisher is slowed, and the
  // packets already read (a whole chunk's, times its subscribers) need room before any is dropped.
  qos0BufferBytes: [2 * 1024 * 1024, Number.MAX_SAFE_INTEGER],
} as const satisfies Partial<Record<keyof MqttServerOptions, readonly [number, number]>>;

/** The settings an application (the broker's `mqtt:` config keys) passes on to the server as they are. */
export const MQTT_LIMIT_KEYS = [
  'keepAliveMaxSeconds',
  'receiveMaximum',
  'topicAliasMaximum',
  'maxPacketBytes',
  'retainAvailable',
  'qos0BufferBytes',
] as const satisfies readonly (keyof MqttServerOptions)[];

export type MqttLimits = Pick<MqttServerOptions, (typeof MQTT_LIMIT_KEYS)[number]>;

export function validateServerOptions(options: MqttServerOptions): void {
  for (const [name, [min, max]] of Object.entries(MQTT_SETTING_RANGES)) {
    const value = options[name as keyof typeof MQTT_SETTING_RANGES];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw new InvalidArgumentError(
        `mqtt ${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`,
      );
  }
}
