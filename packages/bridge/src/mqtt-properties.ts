import type { Headers, MessageProperties } from '@conveyor/core';
import type { IClientPublishOptions, IPublishPacket } from 'mqtt';

/** The MQTT 5 user property that carries a message's id across the bridge. */
export const MESSAGE_ID_PROPERTY = 'conveyor-message-id';

type UserProperties = Record<string, string | string[]>;

/** An MQTT 5 PUBLISH's properties → the core's model (as the MQTT door maps them, see docs/mqtt.md). */
export function fromMqttPacket(packet: IPublishPacket): MessageProperties {
  const out: MessageProperties = { persistent: packet.qos > 0 };
  const p = packet.properties;
  if (p === undefined) return out;
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.responseTopic !== undefined) out.replyTo = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationId = Buffer.from(p.correlationData).toString('utf8');
  if (p.messageExpiryInterval !== undefined) out.expiration = p.messageExpiryInterval * 1000;
  const headers: Headers = {};
  for (const [key, value] of Object.entries(p.userProperties ?? {})) {
    if (key === MESSAGE_ID_PROPERTY) out.messageId = Array.isArray(value) ? value[0] : value;
    else headers[key] = value;
  }
  if (Object.keys(headers).length > 0) out.headers = headers;
  return out;
}

/**
 * The core's model → MQTT 5 publish properties. Headers become user properties when they are
 * strings, numbers or booleans (others have no MQTT form and are left out); the message id rides
 * in `conveyor-message-id`. MQTT 3.1.1 has no properties: only topic and payload cross.
 */
export function toMqttPublishOptions(p: MessageProperties, protocolVersion: 4 | 5): IClientPublishOptions {
  const options: IClientPublishOptions = { qos: 1 };
  if (protocolVersion !== 5) return options;
  const user: UserProperties = {};
  for (const [key, value] of Object.entries(p.headers ?? {})) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      user[key] = String(value);
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) user[key] = value as string[];
  }
  if (p.messageId !== undefined) user[MESSAGE_ID_PROPERTY] = p.messageId;
  const properties: NonNullable<IClientPublishOptions['properties']> = {};
  if (Object.keys(user).length > 0) properties.userProperties = user;
  if (p.contentType !== undefined) properties.contentType = p.contentType;
  if (p.replyTo !== undefined) properties.responseTopic = p.replyTo;
  if (p.correlationId !== undefined) properties.correlationData = Buffer.from(p.correlationId, 'utf8');
  if (p.expiration !== undefined)
    properties.messageExpiryInterval = Math.max(1, Math.ceil(p.expiration / 1000));
  options.properties = properties;
  return options;
}
