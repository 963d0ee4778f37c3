/**
 * Streaming frame parser: push socket chunks of any size, get complete frames out.
 *
 * - Frames wholly inside a chunk are decoded in place (body payloads are views of the chunk).
 * - A frame split across chunks is gathered into one buffer of exactly its size, each byte copied once.
 * - The first 8 bytes of a server-side connection are the protocol header; anything but AMQP 0-9-1's yields
 *   a `bad-protocol-header` event, after which the server replies with `PROTOCOL_HEADER` and closes.
 * - Any decode failure yields one `error` event carrying an `AmqpFrameError` (501/502/503) and the parser
 *   stops: the connection is to be closed. `push` itself never throws.
 */
import { AmqpFrameError } from './errors.js';
import type { AmqpFrame } from './frames.js';
import { FRAME_OVERHEAD, PROTOCOL_HEADER } from './frames.js';
import { readMethod } from './methods.js';
import { Reader } from './primitives.js';
import { readProperties } from './properties.js';
import {
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
} from './spec.generated.js';

export type ParserEvent =
  | AmqpFrame
  | { type: 'protocol-header' }
  /** `received` is the 8 bytes the peer sent instead of `AMQP\x00\x00\x09\x01`. */
  | { type: 'bad-protocol-header'; received: Buffer }
  | { type: 'error'; error: AmqpFrameError };

export interface FrameParserOptions {
  /** Expect the 8-byte protocol header first (a server's view). Default true. */
  expectProtocolHeader?: boolean;
  /** Largest acceptable frame including its 8 bytes of overhead; 0 = no limit. Default 4096 (FRAME_MIN_SIZE),
   * the limit before connection.tune-ok; raise it with `setFrameMax` once negotiated. */
  frameMax?: number;
}

const HEAD = 7;

export class FrameParser {
  private frameMax: number;
  private awaitingProtocolHeader: boolean;
  private stopped = false;
  /** Bytes of an incomplete frame head (or protocol header). */
  private head = Buffer.alloc(8);
  private headFilled = 0;
  /** An incomplete frame of known size, being filled. */
  private partial: Buffer | null = null;
  private partialFilled = 0;
  /** Reused for every frame: decoding is synchronous and nothing keeps the reader. */
  private readonly reader = new Reader(Buffer.alloc(0));

  constructor(options: FrameParserOptions = {}) {
    this.awaitingProtocolHeader = options.expectProtocolHeader ?? true;
    this.frameMax = options.frameMax ?? FRAME_MIN_SIZE;
  }

  setFrameMax(frameMax: number): void {
    this.frameMax = frameMax;
  }

  /** True after an `error` or `bad-protocol-header` event: nothing more will be parsed. */
  get failed(): boolean {
    return this.stopped;
  }

  push(chunk: Buffer): ParserEvent[] {
    const events: ParserEvent[] = [];
    if (this.stopped) return events;
    try {
      this.consume(chunk, events);
    } catch (err) {
      const error =
        err instanceof AmqpFrameError
          ? err
          : new AmqpFrameError('SYNTAX_ERROR', 'malformed frame', { cause: err });
      events.push({ type: 'error', error });
      this.stopped = true;
    }
    return events;
  }

  private consume(chunk: Buffer, events: ParserEvent[]): void {
    let off = 0;
    const len = chunk.length;

    if (this.awaitingProtocolHeader) {
      const n = Math.min(8 - this.headFilled, len);
      chunk.copy(this.head, this.headFilled, 0, n);
      this.headFilled += n;
      off = n;
      if (this.headFilled < 8) return;
      this.headFilled = 0;
      this.awaitingProtocolHeader = false;
      if (!this.head.equals(PROTOCOL_HEADER)) {
        this.stopped = true;
        events.push({ type: 'bad-protocol-header', received: Buffer.from(this.head) });
        return;
      }
      events.push({ type: 'protocol-header' });
    }

    // Finish a frame begun in an earlier chunk.
    if (this.headFilled > 0 || this.partial !== null) {
      if (this.partial === null) {
        const n = Math.min(HEAD - this.headFilled, len - off);
        chunk.copy(this.head, this.headFilled, off, off + n);
        this.headFilled += n;
        off += n;
        if (this.headFilled < HEAD) return;
        const size = this.checkSize(this.head, 0);
        // Unpooled, exactly the frame: a body view of it pins nothing else.
        this.partial = Buffer.allocUnsafeSlow(size + FRAME_OVERHEAD);
        this.head.copy(this.partial, 0, 0, HEAD);
        this.partialFilled = HEAD;
        this.headFilled = 0;
      }
      const frame = this.partial;
      const n = Math.min(frame.length - this.partialFilled, len - off);
      chunk.copy(frame, this.partialFilled, off, off + n);
      this.partialFilled += n;
      off += n;
      if (this.partialFilled < frame.length) return;
      this.partial = null;
      events.push(this.decodeFrame(frame, 0, frame.length - FRAME_OVERHEAD));
    }

    // Whole frames inside this chunk.
    while (len - off >= HEAD) {
      const size = this.checkSize(chunk, off);
      if (len - off < size + FRAME_OVERHEAD) break;
      events.push(this.decodeFrame(chunk, off, size));
      off += size + FRAME_OVERHEAD;
    }

    // Keep the start of the next frame.
    if (off < len) {
      if (len - off < HEAD) {
        chunk.copy(this.head, 0, off, len);
        this.headFilled = len - off;
      } else {
        const size = this.checkSize(chunk, off);
        this.partial = Buffer.allocUnsafeSlow(size + FRAME_OVERHEAD);
        chunk.copy(this.partial, 0, off, len);
        this.partialFilled = len - off;
      }
    }
  }

  /** Payload size from a frame head at `off`, checked against frame_max before anything is buffered. */
  private checkSize(buf: Buffer, off: number): number {
    const size = buf.readUInt32BE(off + 3);
    if (this.frameMax !== 0 && size > this.frameMax - FRAME_OVERHEAD) {
      throw new AmqpFrameError(
        'FRAME_ERROR',
        `frame of ${size + FRAME_OVERHEAD} bytes exceeds frame_max ${this.frameMax}`,
        { channel: buf.readUInt16BE(off + 1) },
      );
    }
    return size;
  }

  private decodeFrame(buf: Buffer, off: number, size: number): AmqpFrame {
    const type = buf[off]!;
    const channel = (buf[off + 1]! << 8) | buf[off + 2]!;
    const start = off + HEAD;
    const end = start + size;
    if (buf[end] !== FRAME_END) {
      throw new AmqpFrameError('FRAME_ERROR', `bad frame-end octet 0x${buf[end]!.toString(16)}`, { channel });
    }
    const r = this.reader;
    r.buf = buf;
    r.off = start;
    r.end = end;
    try {
      switch (type) {
        case FRAME_METHOD:
          return { type: 'method', channel, method: readMethod(r) };
        case FRAME_HEADER:
          return decodeHeader(r, channel);
        case FRAME_BODY:
          return { type: 'body', channel, payload: buf.subarray(start, end) };
        case FRAME_HEARTBEAT:
          if (channel !== 0) throw new AmqpFrameError('FRAME_ERROR', `heartbeat on channel ${channel}`);
          return { type: 'heartbeat', channel };
        default:
          throw new AmqpFrameError('FRAME_ERROR', `unknown frame type ${type}`);
      }
    } catch (err) {
      if (err instanceof AmqpFrameError) throw err.withContext({ channel });
      throw err;
    }
  }
}

function decodeHeader(r: Reader, channel: number): AmqpFrame {
  const end = r.end;
  const classId = r.u16();
  const weight = r.u16();
  const bodySize = r.u64();
  const propsStart = r.off;
  const properties = readProperties(r, classId);
  if (r.off !== end) {
    throw new AmqpFrameError(
      'SYNTAX_ERROR',
      `${end - r.off} unexpected byte(s) after the content properties`,
    );
  }
  const propertyBytes = r.buf.subarray(propsStart, end);
  return { type: 'header', channel, classId, weight, bodySize, properties, propertyBytes };
}
