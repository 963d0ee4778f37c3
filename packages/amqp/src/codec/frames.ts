/**
 * Frame types and frame encoders. A frame is: type (octet), channel (short), payload size (long),
 * payload, frame-end (0xCE). Encoders write into one scratch `Writer` and copy out once.
 */
import { AmqpEncodeError } from './errors.js';
import { writeMethod } from './methods.js';
import { Writer } from './primitives.js';
import { writeProperties } from './properties.js';
import {
  ClassId,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  type AmqpMethod,
  type BasicProperties,
} from './spec.generated.js';

/** Type + channel + size before the payload, frame-end after it. */
export const FRAME_OVERHEAD = 8;

/** What a 0-9-1 peer sends first (and what a server answers with when the client's header is wrong). */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

export interface MethodFrame {
  type: 'method';
  channel: number;
  method: AmqpMethod;
}

export interface HeaderFrame {
  type: 'header';
  channel: number;
  classId: number;
  weight: number;
  bodySize: number;
  properties: BasicProperties;
  /** The property flags + property list exactly as received (a view): re-send it to forward losslessly. */
  propertyBytes: Buffer;
}

export interface BodyFrame {
  type: 'body';
  channel: number;
  /** A view into the received bytes. */
  payload: Buffer;
}

export interface HeartbeatFrame {
  type: 'heartbeat';
  channel: number;
}

export type AmqpFrame = MethodFrame | HeaderFrame | BodyFrame | HeartbeatFrame;

/** A frame to encode: headers take either decoded properties or raw `propertyBytes`. */
export type OutgoingFrame =
  | MethodFrame
  | {
      type: 'header';
      channel: number;
      classId?: number;
      bodySize: number;
      properties?: BasicProperties;
      propertyBytes?: Uint8Array;
    }
  | { type: 'body'; channel: number; payload: Uint8Array }
  | HeartbeatFrame;

export const HEARTBEAT_FRAME: Buffer = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);

const scratch = new Writer(64 * 1024);

function begin(w: Writer, type: number, channel: number): number {
  w.u8(type);
  w.u16(channel);
  const sizeAt = w.off;
  w.u32(0);
  return sizeAt;
}

function end(w: Writer, sizeAt: number): void {
  w.buf.writeUInt32BE(w.off - sizeAt - 4, sizeAt);
  w.u8(FRAME_END);
}

export function writeMethodFrame(w: Writer, channel: number, method: AmqpMethod): void {
  const at = begin(w, FRAME_METHOD, channel);
  writeMethod(w, method);
  end(w, at);
}

export function writeHeaderFrame(
  w: Writer,
  channel: number,
  bodySize: number,
  properties: BasicProperties | Uint8Array,
  classId: number = ClassId.basic,
): void {
  const at = begin(w, FRAME_HEADER, channel);
  w.u16(classId);
  w.u16(0);
  w.u64(bodySize);
  if (properties instanceof Uint8Array) w.bytes(properties);
  else writeProperties(w, properties, classId);
  end(w, at);
}

/** Largest body payload per frame for a negotiated frame_max (0 = no limit). */
export function maxBodyPayload(frameMax: number): number {
  if (frameMax === 0) return 0xffffffff;
  if (frameMax <= FRAME_OVERHEAD)
    throw new AmqpEncodeError(`frame_max ${frameMax} leaves no room for a body`);
  return frameMax - FRAME_OVERHEAD;
}

export function encodeMethodFrame(channel: number, method: AmqpMethod): Buffer {
  const w = scratch.reset();
  writeMethodFrame(w, channel, method);
  return w.toBuffer();
}

export function encodeHeaderFrame(
  channel: number,
  bodySize: number,
  properties: BasicProperties | Uint8Array,
  classId: number = ClassId.basic,
): Buffer {
  const w = scratch.reset();
  writeHeaderFrame(w, channel, bodySize, properties, classId);
  return w.toBuffer();
}

/** Body split into frames of at most `frameMax - 8` payload bytes, all in one buffer. */
export function encodeBodyFrames(channel: number, body: Uint8Array, frameMax: number): Buffer {
  const out = Buffer.allocUnsafe(bodyFramesSize(body.byteLength, frameMax));
  writeBodyFrames(out, 0, channel, body, frameMax);
  return out;
}

export function bodyFramesSize(bodySize: number, frameMax: number): number {
  const max = maxBodyPayload(frameMax);
  return bodySize + Math.ceil(bodySize / max) * FRAME_OVERHEAD;
}

/** Write body frames into `out` at `off`; returns the offset after them. */
export function writeBodyFrames(
  out: Buffer,
  off: number,
  channel: number,
  body: Uint8Array,
  frameMax: number,
): number {
  const max = maxBodyPayload(frameMax);
  for (let pos = 0; pos < body.byteLength;) {
    const n = Math.min(max, body.byteLength - pos);
    out[off] = FRAME_BODY;
    out.writeUInt16BE(channel, off + 1);
    out.writeUInt32BE(n, off + 3);
    out.set(n === body.byteLength ? body : body.subarray(pos, pos + n), off + 7);
    out[off + 7 + n] = FRAME_END;
    off += n + FRAME_OVERHEAD;
    pos += n;
  }
  return off;
}

/**
 * A content-bearing method (basic.deliver, basic.return, basic.get-ok, basic.publish) with its header and
 * body frames, in one buffer: ready for a single socket write. The body is copied once.
 */
export function encodeContent(
  channel: number,
  method: AmqpMethod,
  properties: BasicProperties | Uint8Array,
  body: Uint8Array,
  frameMax: number,
): Buffer {
  const w = scratch.reset();
  writeMethodFrame(w, channel, method);
  writeHeaderFrame(w, channel, body.byteLength, properties, method.classId);
  const head = w.off;
  const out = Buffer.allocUnsafe(head + bodyFramesSize(body.byteLength, frameMax));
  w.buf.copy(out, 0, 0, head);
  writeBodyFrames(out, head, channel, body, frameMax);
  return out;
}

export function encodeFrame(frame: OutgoingFrame): Buffer {
  switch (frame.type) {
    case 'method':
      return encodeMethodFrame(frame.channel, frame.method);
    case 'header':
      return encodeHeaderFrame(
        frame.channel,
        frame.bodySize,
        frame.propertyBytes ?? frame.properties ?? {},
        frame.classId ?? ClassId.basic,
      );
    case 'body': {
      // Written directly: unlike a split body, an explicit (even empty) single body frame is wanted.
      const n = frame.payload.byteLength;
      const out = Buffer.allocUnsafe(n + FRAME_OVERHEAD);
      out[0] = FRAME_BODY;
      out.writeUInt16BE(frame.channel, 1);
      out.writeUInt32BE(n, 3);
      out.set(frame.payload, 7);
      out[7 + n] = FRAME_END;
      return out;
    }
    case 'heartbeat':
      return Buffer.from(HEARTBEAT_FRAME);
  }
}
