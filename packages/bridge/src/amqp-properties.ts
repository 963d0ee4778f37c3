import type { HeaderValue, Headers, MessageProperties } from '@conveyor/core';
import type { MessageProperties as AmqpProperties, Options } from 'amqplib';

/** amqplib's received properties → the core's model (AMQP 0-9-1 names on both sides). */
export function fromAmqpProperties(p: AmqpProperties): MessageProperties {
  const out: MessageProperties = {};
  const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
  const contentType = str(p.contentType);
  if (contentType !== undefined) out.contentType = contentType;
  const contentEncoding = str(p.contentEncoding);
  if (contentEncoding !== undefined) out.contentEncoding = contentEncoding;
  if (p.headers !== undefined && p.headers !== null) out.headers = { ...(p.headers as Headers) };
  if (p.deliveryMode !== undefined && p.deliveryMode !== null) out.persistent = Number(p.deliveryMode) === 2;
  if (typeof p.priority === 'number') out.priority = p.priority;
  const correlationId = str(p.correlationId);
  if (correlationId !== undefined) out.correlationId = correlationId;
  const replyTo = str(p.replyTo);
  if (replyTo !== undefined) out.replyTo = replyTo;
  const expiration = str(p.expiration);
  if (expiration !== undefined && /^\d+$/.test(expiration)) out.expiration = Number(expiration);
  const messageId = str(p.messageId);
  if (messageId !== undefined) out.messageId = messageId;
  if (typeof p.timestamp === 'number') out.timestamp = p.timestamp;
  const type = str(p.type);
  if (type !== undefined) out.type = type;
  const userId = str(p.userId);
  if (userId !== undefined) out.userId = userId;
  const appId = str(p.appId);
  if (appId !== undefined) out.appId = appId;
  return out;
}

/**
 * The core's model → amqplib publish options. `userId` is left out: RabbitMQ refuses a user-id
 * that is not the publishing connection's own user, and the bridge publishes as itself.
 */
export function toAmqpOptions(p: MessageProperties): Options.Publish {
  const out: Options.Publish = { deliveryMode: p.persistent === false ? 1 : 2 };
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.contentEncoding !== undefined) out.contentEncoding = p.contentEncoding;
  if (p.headers !== undefined) out.headers = amqpHeaders(p.headers);
  if (p.priority !== undefined) out.priority = p.priority;
  if (p.correlationId !== undefined) out.correlationId = p.correlationId;
  if (p.replyTo !== undefined) out.replyTo = p.replyTo;
  if (p.expiration !== undefined) out.expiration = String(Math.max(0, Math.round(p.expiration)));
  if (p.messageId !== undefined) out.messageId = p.messageId;
  if (p.timestamp !== undefined) out.timestamp = p.timestamp;
  if (p.type !== undefined) out.type = p.type;
  if (p.appId !== undefined) out.appId = p.appId;
  return out;
}

/** Header values amqplib can encode: bytes as Buffer, bigints as numbers when safe (else strings). */
function amqpHeaders(headers: Headers): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = amqpValue(value);
  }
  return out;
}

function amqpValue(value: HeaderValue): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'bigint')
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  if (Array.isArray(value)) return value.map(amqpValue);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return amqpHeaders(value);
  }
  return value;
}
