import type { Headers, MessageData, MessageProperties, OutgoingMessage } from '@conveyor/core';
import type { IPublishPacket, QoS, UserProperties } from 'mqtt-packet';

/** Headers the MQTT door adds to carry what AMQP properties cannot. */
export const H = {
  qos: 'x-mqtt-qos',
  retain: 'x-mqtt-retain',
  publisher: 'x-mqtt-publisher',
  publishedAt: 'x-mqtt-published-at',
  payloadFormat: 'x-mqtt-payload-format',
  correlationBase64: 'x-mqtt-correlation-base64',
} as const;
const OWN_HEADERS = new Set<string>(Object.values(H));

export type PublishProperties = NonNullable<IPublishPacket['properties']>;

/** An MQTT PUBLISH (or will) as an engine message, MQTT 5 properties mapped onto AMQP-style ones. */
export function toOutgoing(
  payload: Buffer | string,
  qos: QoS,
  retain: boolean,
  publisherKey: string,
  props: PublishProperties | undefined,
  now = Date.now(),
): OutgoingMessage {
  const headers: Headers = { [H.qos]: qos, [H.publisher]: publisherKey, [H.publishedAt]: now };
  if (retain) headers[H.retain] = true;
  const properties: MessageProperties = { persistent: qos > 0, headers };
  if (props) {
    for (const [k, v] of Object.entries(props.userProperties ?? {})) headers[k] = v;
    if (props.payloadFormatIndicator) headers[H.payloadFormat] = 1;
    // `!= null`: mqtt-packet's parser gives null for some malformed properties (seen by the fuzzer).
    if (props.messageExpiryInterval != null) properties.expiration = props.messageExpiryInterval * 1000;
    if (props.responseTopic != null) properties.replyTo = props.responseTopic;
    if (props.contentType != null) properties.contentType = props.contentType;
    if (props.correlationData != null) {
      const data = Buffer.from(props.correlationData);
      const text = data.toString('utf8');
      // Binary correlation data must come back byte for byte: carry it as base64 when it is not UTF-8.
      if (Buffer.from(text, 'utf8').equals(data)) properties.correlationId = text;
      else {
        properties.correlationId = data.toString('base64');
        headers[H.correlationBase64] = true;
      }
    }
  }
  return { body: typeof payload === 'string' ? Buffer.from(payload) : payload, properties };
}

/** The QoS a message was published with (AMQP messages: persistent → 1, else 0). */
export function publishedQos(message: MessageData): QoS {
  const q = message.properties.headers?.[H.qos];
  if (q === 0 || q === 1 || q === 2) return q;
  return message.properties.persistent ? 1 : 0;
}

export function publisherOf(message: MessageData): string | undefined {
  const p = message.properties.headers?.[H.publisher];
  return typeof p === 'string' ? p : undefined;
}

/** MQTT 5 publish properties for an engine message; undefined when the message has expired. */
export function toPublishProperties(message: MessageData, now = Date.now()): PublishProperties | undefined {
  const p = message.properties;
  const out: PublishProperties = {};
  const headers = p.headers ?? {};
  if (p.expiration !== undefined) {
    const at = headers[H.publishedAt];
    const elapsed = typeof at === 'number' ? now - at : 0;
    const left = Math.ceil((p.expiration - elapsed) / 1000);
    if (left <= 0) return undefined;
    out.messageExpiryInterval = left;
  }
  if (p.replyTo !== undefined) out.responseTopic = p.replyTo;
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.correlationId !== undefined) {
    out.correlationData =
      headers[H.correlationBase64] === true
        ? Buffer.from(p.correlationId, 'base64')
        : Buffer.from(p.correlationId, 'utf8');
  }
  if (headers[H.payloadFormat] === 1) out.payloadFormatIndicator = true;
  const user: UserProperties = {};
  let any = false;
  for (const [k, v] of Object.entries(headers)) {
    if (OWN_HEADERS.has(k) || v === undefined || v === null) continue;
    user[k] = Array.isArray(v) ? v.map(String) : headerText(v);
    any = true;
  }
  if (any) out.userProperties = user;
  return out;
}

function headerText(v: Exclude<Headers[string], undefined | null | unknown[]>): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
