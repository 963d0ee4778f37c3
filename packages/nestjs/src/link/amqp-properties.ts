import type { Headers, MessageProperties } from '@conveyor/core';
import type { Message, Options } from 'amqplib';

/** Engine message properties → amqplib publish options. */
export function toPublishOptions(p: MessageProperties): Options.Publish {
  const o: Options.Publish = {};
  if (p.contentType !== undefined) o.contentType = p.contentType;
  if (p.contentEncoding !== undefined) o.contentEncoding = p.contentEncoding;
  if (p.headers !== undefined) o.headers = p.headers;
  if (p.persistent !== undefined) o.persistent = p.persistent;
  if (p.priority !== undefined) o.priority = p.priority;
  if (p.correlationId !== undefined) o.correlationId = p.correlationId;
  if (p.replyTo !== undefined) o.replyTo = p.replyTo;
  if (p.expiration !== undefined) o.expiration = String(p.expiration);
  if (p.messageId !== undefined) o.messageId = p.messageId;
  if (p.timestamp !== undefined) o.timestamp = p.timestamp;
  if (p.type !== undefined) o.type = p.type;
  if (p.appId !== undefined) o.appId = p.appId;
  return o;
}

/** amqplib's received properties → engine message properties (absent fields left out). */
export function fromAmqpMessage(m: Message): MessageProperties {
  const p = m.properties;
  const out: MessageProperties = { headers: (p.headers ?? {}) as Headers };
  const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
  const set = <K extends keyof MessageProperties>(key: K, value: MessageProperties[K] | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  set('contentType', str(p.contentType));
  set('contentEncoding', str(p.contentEncoding));
  set('persistent', p.deliveryMode === undefined ? undefined : p.deliveryMode === 2);
  set('priority', typeof p.priority === 'number' ? p.priority : undefined);
  set('correlationId', str(p.correlationId));
  set('replyTo', str(p.replyTo));
  set('expiration', p.expiration === undefined ? undefined : Number(p.expiration));
  set('messageId', str(p.messageId));
  set('timestamp', typeof p.timestamp === 'number' ? p.timestamp : undefined);
  set('type', str(p.type));
  set('appId', str(p.appId));
  return out;
}
