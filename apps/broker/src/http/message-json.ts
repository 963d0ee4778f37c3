// Messages as JSON: UTF-8 payloads as strings, anything else as base64; header values that JSON
// cannot carry (bigint, bytes, dates) turned into numbers or strings.
import type { Delivery, HeaderValue, MessageData, MessageProperties, PeekedMessage } from '@conveyor/core';
import { badRequest } from './http-errors.js';

export type PayloadEncoding = 'string' | 'base64';

export interface MessageJson {
  id: string;
  state: string;
  deliveryCount: number;
  enqueuedAt: number;
  expiresAt: number | undefined;
  exchange: string;
  routingKey: string;
  properties: unknown;
  payload: string;
  payloadEncoding: PayloadEncoding;
  payloadBytes: number;
}

export interface DeliveryJson extends MessageJson {
  holder: string;
  leaseUntil: number | undefined;
  redelivered: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function encodePayload(body: Uint8Array): { payload: string; payloadEncoding: PayloadEncoding } {
  try {
    return { payload: utf8.decode(body), payloadEncoding: 'string' };
  } catch {
    return { payload: Buffer.from(body).toString('base64'), payloadEncoding: 'base64' };
  }
}

/** A value JSON.stringify can write without throwing or losing it silently. */
export function jsonSafe(value: HeaderValue | object): unknown {
  if (typeof value === 'bigint')
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map((v: HeaderValue) => jsonSafe(v));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v as HeaderValue)]));
  return value;
}

function messageFields(
  message: MessageData,
): Pick<
  MessageJson,
  'exchange' | 'routingKey' | 'properties' | 'payload' | 'payloadEncoding' | 'payloadBytes'
> {
  return {
    exchange: message.exchange,
    routingKey: message.routingKey,
    properties: jsonSafe(message.properties),
    ...encodePayload(message.body),
    payloadBytes: message.body.byteLength,
  };
}

export function peekedJson(peeked: PeekedMessage): MessageJson {
  return {
    id: peeked.id,
    state: peeked.state,
    deliveryCount: peeked.deliveryCount,
    enqueuedAt: peeked.enqueuedAt,
    expiresAt: peeked.expiresAt,
    ...messageFields(peeked.message),
  };
}

export function deliveryJson(delivery: Delivery): DeliveryJson {
  const enqueuedAt = delivery.enqueuedAt;
  const ttl = delivery.message.properties.expiration;
  return {
    id: delivery.id,
    state: 'in-flight',
    holder: delivery.holder,
    leaseUntil: delivery.leaseUntil,
    redelivered: delivery.redelivered,
    deliveryCount: delivery.deliveryCount,
    enqueuedAt,
    expiresAt: ttl !== undefined ? enqueuedAt + ttl : undefined,
    ...messageFields(delivery.message),
  };
}

export function decodePayload(payload: unknown, encoding: unknown): Uint8Array {
  if (typeof payload !== 'string') throw badRequest("'payload' must be a string");
  if (encoding === undefined || encoding === 'string') return Buffer.from(payload, 'utf8');
  if (encoding === 'base64') return Buffer.from(payload, 'base64');
  throw badRequest(`'payloadEncoding' must be "string" or "base64", got ${JSON.stringify(encoding)}`);
}

const PROPERTY_TYPES: Record<keyof MessageProperties, 'string' | 'number' | 'boolean' | 'object'> = {
  contentType: 'string',
  contentEncoding: 'string',
  headers: 'object',
  persistent: 'boolean',
  priority: 'number',
  correlationId: 'string',
  replyTo: 'string',
  expiration: 'number',
  messageId: 'string',
  timestamp: 'number',
  type: 'string',
  userId: 'string',
  appId: 'string',
};

/** Message properties from a request body, each checked (an unknown one is named, not dropped). */
export function parseProperties(value: unknown): MessageProperties {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest("'properties' must be an object");
  for (const [key, v] of Object.entries(value)) {
    const type = PROPERTY_TYPES[key as keyof MessageProperties];
    if (type === undefined) throw badRequest(`unknown message property '${key}'`);
    if (typeof v !== type || (type === 'object' && (v === null || Array.isArray(v))))
      throw badRequest(`message property '${key}' must be ${type === 'object' ? 'an object' : `a ${type}`}`);
  }
  return value as MessageProperties;
}
