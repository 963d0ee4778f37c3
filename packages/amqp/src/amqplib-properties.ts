/**
 * The one mapping between amqplib's message properties and the core's, for Conveyor's own amqplib
 * users: the bridge's RabbitMQ endpoints and the NestJS remote link. It goes through the codec's
 * mapping (`toMessageProperties` / `fromMessageProperties`), so a property means the same on a
 * socket to RabbitMQ as inside Conveyor's AMQP server: `deliveryMode` 2 is persistent, `expiration`
 * is whole milliseconds (a fraction is floored, a negative is 0). What is amqplib's own stays here:
 * it reports an absent property as null or undefined, and it cannot encode bigint header values or
 * a `Uint8Array` that is not a Buffer.
 *
 * Typed by shape, so this package does not depend on amqplib: amqplib's `MessageProperties` is
 * accepted as `AmqplibProperties`, and `AmqplibPublishOptions` is accepted where it takes
 * `Options.Publish`.
 */
import type { HeaderValue, Headers, MessageProperties } from '@conveyor/core';
import { fromMessageProperties, toMessageProperties } from './codec/properties.js';
import type { BasicProperties } from './codec/spec.generated.js';

/** A received message's properties as amqplib reports them (`message.properties`). */
export interface AmqplibProperties {
  readonly contentType?: unknown;
  readonly contentEncoding?: unknown;
  readonly headers?: unknown;
  readonly deliveryMode?: unknown;
  readonly priority?: unknown;
  readonly correlationId?: unknown;
  readonly replyTo?: unknown;
  readonly expiration?: unknown;
  readonly messageId?: unknown;
  readonly timestamp?: unknown;
  readonly type?: unknown;
  readonly userId?: unknown;
  readonly appId?: unknown;
}

/** Publish options amqplib takes (`channel.publish(…, options)`), as far as properties go. */
export type AmqplibPublishOptions = Omit<BasicProperties, 'headers' | 'userId' | 'clusterId'> & {
  headers?: Record<string, unknown>;
};

const text = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
const count = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;

/**
 * amqplib's received properties → the core's. An `expiration` that is not whole milliseconds is
 * left out: the broker that delivered it should have refused it at publish (RabbitMQ and Conveyor
 * answer 406), and a consumer is no place to fail over it.
 */
export function fromAmqplibProperties(p: AmqplibProperties): MessageProperties {
  const basic: BasicProperties = {};
  const set = <K extends keyof BasicProperties>(key: K, value: BasicProperties[K] | undefined): void => {
    if (value !== undefined) basic[key] = value;
  };
  set('contentType', text(p.contentType));
  set('contentEncoding', text(p.contentEncoding));
  if (p.headers !== undefined && p.headers !== null) basic.headers = { ...(p.headers as Headers) };
  set(
    'deliveryMode',
    p.deliveryMode === undefined || p.deliveryMode === null ? undefined : Number(p.deliveryMode),
  );
  set('priority', count(p.priority));
  set('correlationId', text(p.correlationId));
  set('replyTo', text(p.replyTo));
  const expiration = text(p.expiration);
  if (expiration !== undefined && /^[0-9]{1,15}$/.test(expiration)) basic.expiration = expiration;
  set('messageId', text(p.messageId));
  set('timestamp', count(p.timestamp));
  set('type', text(p.type));
  set('userId', text(p.userId));
  set('appId', text(p.appId));
  return toMessageProperties(basic);
}

/**
 * The core's properties → amqplib publish options. `userId` is left out: RabbitMQ refuses a user-id
 * that is not the publishing connection's own user, and Conveyor's clients publish as themselves.
 */
export function toAmqplibOptions(m: MessageProperties): AmqplibPublishOptions {
  const { userId: _userId, headers, ...rest } = fromMessageProperties(m);
  const out: AmqplibPublishOptions = rest;
  if (headers !== undefined) out.headers = amqplibHeaders(headers);
  return out;
}

/** Header values amqplib can encode: bytes as Buffer, bigints as numbers when safe (else strings). */
function amqplibHeaders(headers: Headers): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = amqplibValue(value);
  }
  return out;
}

function amqplibValue(value: HeaderValue): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'bigint') {
    const safe = value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER);
    return safe ? Number(value) : value.toString();
  }
  if (Array.isArray(value)) return value.map(amqplibValue);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) return amqplibHeaders(value);
  return value;
}
