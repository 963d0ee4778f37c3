import type { Headers } from '@conveyor/core';

/** Bytes on the wire plus the content type that says how to read them. */
export interface Encoded {
  body: Buffer;
  contentType?: string;
}

/** Turns payloads into bodies and back; JSON by default, pluggable. */
export interface Serializer {
  serialize(value: unknown): Encoded;
  deserialize(body: Buffer, contentType: string | undefined, headers: Headers): unknown;
}

const JSON_TYPE = 'application/json';
const BYTES_TYPE = 'application/octet-stream';

/**
 * JSON for values, bytes as they are. Incoming bodies from plain AMQP/MQTT clients often carry no
 * content type: JSON-looking bodies are parsed, anything else arrives as a Buffer.
 */
export class JsonSerializer implements Serializer {
  serialize(value: unknown): Encoded {
    if (Buffer.isBuffer(value)) return { body: value, contentType: BYTES_TYPE };
    if (value instanceof Uint8Array) return { body: Buffer.from(value), contentType: BYTES_TYPE };
    return { body: Buffer.from(JSON.stringify(value ?? null), 'utf8'), contentType: JSON_TYPE };
  }

  deserialize(body: Buffer, contentType: string | undefined): unknown {
    if (contentType === BYTES_TYPE) return body;
    if (contentType?.startsWith('text/')) return body.toString('utf8');
    if (contentType === JSON_TYPE || contentType === undefined || contentType === '') {
      try {
        return unwrapNestEnvelope(JSON.parse(body.toString('utf8')) as unknown);
      } catch {
        if (contentType === JSON_TYPE) throw new SyntaxError('message body is not valid JSON');
        return body;
      }
    }
    return body;
  }
}

/** A message sent by Nest's own RMQ/MQTT clients is `{ pattern, data, id? }`: the payload is `data`. */
function unwrapNestEnvelope(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && 'pattern' in value && 'data' in value) {
    const keys = Object.keys(value);
    if (keys.every((k) => k === 'pattern' || k === 'data' || k === 'id'))
      return (value as { data: unknown }).data;
  }
  return value;
}
