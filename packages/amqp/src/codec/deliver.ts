/**
 * The hot outbound path: basic.deliver + content header + body frames written straight into one
 * exactly-sized buffer (the body copied once), without going through the generic method table.
 */
import { AmqpEncodeError } from './errors.js';
import { FRAME_OVERHEAD, bodyFramesSize, writeBodyFrames } from './frames.js';
import { Writer } from './primitives.js';
import { writeProperties } from './properties.js';
import { utf8Length, writeUtf8 } from './short-strings.js';
import {
  ClassId,
  FRAME_END,
  FRAME_HEADER,
  FRAME_METHOD,
  type BasicDeliverArgs,
  type BasicProperties,
} from './spec.generated.js';

const BASIC_DELIVER_METHOD_ID = 60;
const propsScratch = new Writer(4096);

/**
 * Encode a delivery. `properties` may be decoded properties or raw property bytes (flags + list, e.g. a
 * publish's `propertyBytes`), which are copied verbatim.
 */
export function encodeDeliver(
  channel: number,
  args: BasicDeliverArgs,
  properties: BasicProperties | Uint8Array,
  body: Uint8Array,
  frameMax: number,
): Buffer {
  let props: Uint8Array;
  if (properties instanceof Uint8Array) {
    props = properties;
  } else {
    const w = propsScratch.reset();
    writeProperties(w, properties);
    props = w.buf.subarray(0, w.off);
  }
  const tagLen = utf8Length(args.consumerTag);
  const exLen = utf8Length(args.exchange);
  const rkLen = utf8Length(args.routingKey);
  if (tagLen > 255 || exLen > 255 || rkLen > 255)
    throw new AmqpEncodeError('basic.deliver: shortstr over 255 bytes');
  const methodSize = 4 + 1 + tagLen + 8 + 1 + 1 + exLen + 1 + rkLen;
  const headerSize = 12 + props.byteLength;
  const total = methodSize + headerSize + 2 * FRAME_OVERHEAD + bodyFramesSize(body.byteLength, frameMax);
  const out = Buffer.allocUnsafe(total);

  let o = frameStart(out, 0, FRAME_METHOD, channel, methodSize);
  out.writeUInt16BE(ClassId.basic, o);
  out.writeUInt16BE(BASIC_DELIVER_METHOD_ID, o + 2);
  o = shortstr(out, o + 4, args.consumerTag, tagLen);
  const tag = args.deliveryTag;
  if (!Number.isSafeInteger(tag) || tag < 0) throw new AmqpEncodeError(`bad delivery tag ${tag}`);
  out.writeUInt32BE(Math.floor(tag / 4294967296), o);
  out.writeUInt32BE(tag % 4294967296, o + 4);
  out[o + 8] = args.redelivered ? 1 : 0;
  o = shortstr(out, o + 9, args.exchange, exLen);
  o = shortstr(out, o, args.routingKey, rkLen);
  out[o++] = FRAME_END;

  o = frameStart(out, o, FRAME_HEADER, channel, headerSize);
  out.writeUInt16BE(ClassId.basic, o);
  out.writeUInt16BE(0, o + 2);
  out.writeUInt32BE(Math.floor(body.byteLength / 4294967296), o + 4);
  out.writeUInt32BE(body.byteLength % 4294967296, o + 8);
  out.set(props, o + 12);
  o += headerSize;
  out[o++] = FRAME_END;

  writeBodyFrames(out, o, channel, body, frameMax);
  return out;
}

function frameStart(out: Buffer, o: number, type: number, channel: number, size: number): number {
  out[o] = type;
  out.writeUInt16BE(channel, o + 1);
  out.writeUInt32BE(size, o + 3);
  return o + 7;
}

function shortstr(out: Buffer, o: number, s: string, len: number): number {
  out[o] = len;
  return writeUtf8(out, o + 1, s, len);
}
