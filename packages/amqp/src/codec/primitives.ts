/**
 * AMQP wire primitives: a bounds-checked `Reader` over a byte range and a growable `Writer`.
 * Multi-byte integers are big-endian ("network order"). Reads past the range raise a typed 502 syntax
 * error, so a truncated or lying length field can never turn into an untyped RangeError.
 */
import { AmqpEncodeError, syntaxError } from './errors.js';
import { decodeShortString, utf8Length, writeUtf8 } from './short-strings.js';

const TWO_32 = 4294967296;

export class Reader {
  constructor(
    public buf: Buffer,
    public off = 0,
    public end = buf.length,
  ) {}

  get remaining(): number {
    return this.end - this.off;
  }

  need(n: number): void {
    if (this.off + n > this.end) {
      throw syntaxError(
        `truncated: need ${n} more byte(s) at offset ${this.off}, have ${this.end - this.off}`,
      );
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }

  i8(): number {
    const v = this.u8();
    return v > 127 ? v - 256 : v;
  }

  u16(): number {
    this.need(2);
    const b = this.buf;
    const o = this.off;
    this.off = o + 2;
    return (b[o]! << 8) | b[o + 1]!;
  }

  i16(): number {
    const v = this.u16();
    return v > 0x7fff ? v - 0x10000 : v;
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const o = this.off;
    this.off = o + 4;
    return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.off);
    this.off += 4;
    return v;
  }

  /** Unsigned 64-bit as a number: exact up to 2^53 (delivery tags, body sizes and timestamps stay far below). */
  u64(): number {
    const hi = this.u32();
    return hi * TWO_32 + this.u32();
  }

  /** Signed 64-bit: a number when exactly representable, else a bigint. */
  i64(): number | bigint {
    const hi = this.i32();
    const lo = this.u32();
    if (hi >= -0x200000 && hi < 0x200000) return hi * TWO_32 + lo;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  f32(): number {
    this.need(4);
    const v = this.buf.readFloatBE(this.off);
    this.off += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.off);
    this.off += 8;
    return v;
  }

  shortstr(): string {
    const len = this.u8();
    this.need(len);
    const start = this.off;
    this.off = start + len;
    return decodeShortString(this.buf, start, len);
  }

  /** A view of the next `n` bytes (shares memory with the input). */
  view(n: number): Buffer {
    this.need(n);
    const start = this.off;
    this.off = start + n;
    return this.buf.subarray(start, start + n);
  }

  /** A copy of the next `n` bytes, so the result does not pin the (possibly large) input chunk. */
  copy(n: number): Buffer {
    return Buffer.from(this.view(n));
  }

  longstrString(): string {
    const len = this.u32();
    this.need(len);
    const start = this.off;
    this.off = start + len;
    return this.buf.toString('utf8', start, start + len);
  }

  longstrBytes(): Buffer {
    return this.copy(this.u32());
  }
}

/**
 * A growable output buffer. Encoders write into one shared scratch `Writer` and copy the finished bytes
 * out once, so a frame costs one exact-size allocation whatever its shape.
 */
export class Writer {
  buf: Buffer;
  off = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  reset(): this {
    this.off = 0;
    return this;
  }

  ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.off++] = v;
  }

  i8(v: number): void {
    this.ensure(1);
    this.off = this.buf.writeInt8(v, this.off);
  }

  u16(v: number): void {
    this.ensure(2);
    this.off = this.buf.writeUInt16BE(v, this.off);
  }

  i16(v: number): void {
    this.ensure(2);
    this.off = this.buf.writeInt16BE(v, this.off);
  }

  u32(v: number): void {
    this.ensure(4);
    this.off = this.buf.writeUInt32BE(v, this.off);
  }

  i32(v: number): void {
    this.ensure(4);
    this.off = this.buf.writeInt32BE(v, this.off);
  }

  u64(v: number): void {
    this.ensure(8);
    if (!Number.isSafeInteger(v) || v < 0) throw new AmqpEncodeError(`not an unsigned 64-bit integer: ${v}`);
    this.buf.writeUInt32BE(Math.floor(v / TWO_32), this.off);
    this.off = this.buf.writeUInt32BE(v % TWO_32, this.off + 4);
  }

  i64(v: number | bigint): void {
    this.ensure(8);
    if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      throw new AmqpEncodeError(`not a 64-bit integer: ${v}`);
    }
    try {
      this.off = this.buf.writeBigInt64BE(BigInt(v), this.off);
    } catch (cause) {
      throw new AmqpEncodeError(`not a signed 64-bit integer: ${v}`, { cause });
    }
  }

  f32(v: number): void {
    this.ensure(4);
    this.off = this.buf.writeFloatBE(v, this.off);
  }

  f64(v: number): void {
    this.ensure(8);
    this.off = this.buf.writeDoubleBE(v, this.off);
  }

  shortstr(s: string): void {
    const n = utf8Length(s);
    if (n > 255) throw new AmqpEncodeError(`shortstr longer than 255 bytes (${n}): '${s.slice(0, 40)}…'`);
    this.ensure(1 + n);
    this.buf[this.off] = n;
    this.off = writeUtf8(this.buf, this.off + 1, s, n);
  }

  longstr(v: string | Uint8Array): void {
    if (typeof v === 'string') {
      this.ensure(4 + v.length * 3);
      const n = this.buf.write(v, this.off + 4, 'utf8');
      this.buf.writeUInt32BE(n, this.off);
      this.off += 4 + n;
    } else {
      this.u32(v.byteLength);
      this.bytes(v);
    }
  }

  bytes(v: Uint8Array): void {
    this.ensure(v.byteLength);
    this.buf.set(v, this.off);
    this.off += v.byteLength;
  }

  /** An exact-size copy of what was written. */
  toBuffer(from = 0): Buffer {
    const out = Buffer.allocUnsafe(this.off - from);
    this.buf.copy(out, 0, from, this.off);
    return out;
  }
}
