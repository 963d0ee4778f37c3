/**
 * AMQP field tables and arrays, with the value types RabbitMQ and its clients actually use
 * (RabbitMQ's 0-9-1 errata: `s` is int16, `u` uint16, `i` uint32, `l` int64, `x` byte array).
 *
 * Two views:
 * - plain: decode into the core's `HeaderValue` model (what routing and the engine need). Lossy where the
 *   model has no type: decimals become numbers, `f` and small ints become numbers, `S` is read as UTF-8.
 * - typed: `FieldValue` keeps the exact tag and bytes, for callers that must re-send a table unchanged.
 */
import type { HeaderValue, Headers } from '@conveyor/core';
import { AmqpEncodeError, syntaxError } from './errors.js';
import type { Reader, Writer } from './primitives.js';

/** Nesting deeper than this is refused (502) rather than risking a stack overflow. */
const MAX_DEPTH = 64;

export type FieldValue =
  | { type: 't'; value: boolean }
  | { type: 'b' | 'B' | 's' | 'u' | 'I' | 'i' | 'f' | 'd'; value: number }
  | { type: 'l'; value: number | bigint }
  | { type: 'D'; value: { scale: number; value: number } }
  | { type: 'S' | 'x'; value: Buffer }
  /** Seconds since the epoch. */
  | { type: 'T'; value: number }
  | { type: 'A'; value: FieldValue[] }
  | { type: 'F'; value: FieldTable }
  | { type: 'V'; value: null };

/** A typed table: entries in wire order (keys may repeat on the wire; nothing is lost). */
export type FieldTable = [key: string, value: FieldValue][];

const TAG = {
  t: 0x74, b: 0x62, B: 0x42, s: 0x73, u: 0x75, I: 0x49, i: 0x69, l: 0x6c,
  f: 0x66, d: 0x64, D: 0x44, S: 0x53, A: 0x41, T: 0x54, F: 0x46, V: 0x56, x: 0x78,
} as const; // prettier-ignore

function setKey(obj: Headers, key: string, value: HeaderValue): void {
  // A peer-chosen key must never reach the prototype.
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/** Decode a field table (length-prefixed) into plain header values. */
export function readTable(r: Reader, depth = 0): Headers {
  if (depth > MAX_DEPTH) throw syntaxError('field table nested too deeply');
  const len = r.u32();
  r.need(len);
  const end = r.off + len;
  const outerEnd = r.end;
  r.end = end;
  const out: Headers = {};
  while (r.off < end) {
    const key = r.shortstr();
    setKey(out, key, readValue(r, depth));
  }
  r.end = outerEnd;
  return out;
}

function readArray(r: Reader, depth: number): HeaderValue[] {
  if (depth > MAX_DEPTH) throw syntaxError('field array nested too deeply');
  const len = r.u32();
  r.need(len);
  const end = r.off + len;
  const outerEnd = r.end;
  r.end = end;
  const out: HeaderValue[] = [];
  while (r.off < end) out.push(readValue(r, depth));
  r.end = outerEnd;
  return out;
}

function readValue(r: Reader, depth: number): HeaderValue {
  const tag = r.u8();
  switch (tag) {
    case TAG.S:
      return r.longstrString();
    case TAG.I:
      return r.i32();
    case TAG.t:
      return r.u8() !== 0;
    case TAG.l:
      return r.i64();
    case TAG.F:
      return readTable(r, depth + 1);
    case TAG.A:
      return readArray(r, depth + 1);
    case TAG.V:
      return null;
    case TAG.b:
      return r.i8();
    case TAG.B:
      return r.u8();
    case TAG.s:
      return r.i16();
    case TAG.u:
      return r.u16();
    case TAG.i:
      return r.u32();
    case TAG.f:
      return r.f32();
    case TAG.d:
      return r.f64();
    case TAG.D: {
      const scale = r.u8();
      return r.u32() / 10 ** scale;
    }
    case TAG.T:
      return new Date(r.u64() * 1000);
    case TAG.x:
      return r.longstrBytes();
    default:
      throw syntaxError(`unknown field value type 0x${tag.toString(16)} ('${String.fromCharCode(tag)}')`);
  }
}

export function writeTable(w: Writer, table: Headers | undefined): void {
  const start = w.off;
  w.u32(0);
  if (table) {
    for (const key in table) {
      if (!Object.hasOwn(table, key)) continue;
      w.shortstr(key);
      writeValue(w, table[key]);
    }
  }
  w.buf.writeUInt32BE(w.off - start - 4, start);
}

function writeArray(w: Writer, values: readonly HeaderValue[]): void {
  const start = w.off;
  w.u32(0);
  for (const v of values) writeValue(w, v);
  w.buf.writeUInt32BE(w.off - start - 4, start);
}

function writeValue(w: Writer, v: HeaderValue): void {
  switch (typeof v) {
    case 'string':
      w.u8(TAG.S);
      w.longstr(v);
      return;
    case 'number':
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) {
        w.u8(TAG.I);
        w.i32(v);
      } else if (Number.isSafeInteger(v)) {
        w.u8(TAG.l);
        w.i64(v);
      } else {
        w.u8(TAG.d);
        w.f64(v);
      }
      return;
    case 'bigint':
      w.u8(TAG.l);
      w.i64(v);
      return;
    case 'boolean':
      w.u8(TAG.t);
      w.u8(v ? 1 : 0);
      return;
    case 'undefined':
      w.u8(TAG.V);
      return;
    case 'object':
      if (v === null) {
        w.u8(TAG.V);
      } else if (v instanceof Date) {
        w.u8(TAG.T);
        w.u64(Math.floor(v.getTime() / 1000));
      } else if (v instanceof Uint8Array) {
        w.u8(TAG.x);
        w.longstr(v);
      } else if (Array.isArray(v)) {
        w.u8(TAG.A);
        writeArray(w, v);
      } else {
        w.u8(TAG.F);
        writeTable(w, v);
      }
      return;
    default:
      throw new AmqpEncodeError(`cannot encode a ${typeof v} in a field table`);
  }
}

// ---- typed (lossless) view ----

export function readTypedTable(r: Reader, depth = 0): FieldTable {
  if (depth > MAX_DEPTH) throw syntaxError('field table nested too deeply');
  const len = r.u32();
  r.need(len);
  const end = r.off + len;
  const outerEnd = r.end;
  r.end = end;
  const out: FieldTable = [];
  while (r.off < end) {
    const key = r.shortstr();
    out.push([key, readTypedValue(r, depth)]);
  }
  r.end = outerEnd;
  return out;
}

function readTypedValue(r: Reader, depth: number): FieldValue {
  const tag = r.u8();
  const type = String.fromCharCode(tag);
  switch (type) {
    case 't':
      return { type, value: r.u8() !== 0 };
    case 'b':
      return { type, value: r.i8() };
    case 'B':
      return { type, value: r.u8() };
    case 's':
      return { type, value: r.i16() };
    case 'u':
      return { type, value: r.u16() };
    case 'I':
      return { type, value: r.i32() };
    case 'i':
      return { type, value: r.u32() };
    case 'l':
      return { type, value: r.i64() };
    case 'f':
      return { type, value: r.f32() };
    case 'd':
      return { type, value: r.f64() };
    case 'D': {
      const scale = r.u8();
      return { type, value: { scale, value: r.u32() } };
    }
    case 'S':
    case 'x':
      return { type, value: r.longstrBytes() };
    case 'T':
      return { type, value: r.u64() };
    case 'A': {
      if (depth + 1 > MAX_DEPTH) throw syntaxError('field array nested too deeply');
      const len = r.u32();
      r.need(len);
      const end = r.off + len;
      const outerEnd = r.end;
      r.end = end;
      const values: FieldValue[] = [];
      while (r.off < end) values.push(readTypedValue(r, depth + 1));
      r.end = outerEnd;
      return { type, value: values };
    }
    case 'F':
      return { type, value: readTypedTable(r, depth + 1) };
    case 'V':
      return { type, value: null };
    default:
      throw syntaxError(`unknown field value type 0x${tag.toString(16)} ('${type}')`);
  }
}

export function writeTypedTable(w: Writer, table: FieldTable): void {
  const start = w.off;
  w.u32(0);
  for (const [key, value] of table) {
    w.shortstr(key);
    writeTypedValue(w, value);
  }
  w.buf.writeUInt32BE(w.off - start - 4, start);
}

function writeTypedValue(w: Writer, v: FieldValue): void {
  w.u8(TAG[v.type]);
  switch (v.type) {
    case 't':
      return w.u8(v.value ? 1 : 0);
    case 'b':
      return w.i8(v.value);
    case 'B':
      return w.u8(v.value);
    case 's':
      return w.i16(v.value);
    case 'u':
      return w.u16(v.value);
    case 'I':
      return w.i32(v.value);
    case 'i':
      return w.u32(v.value);
    case 'l':
      return w.i64(v.value);
    case 'f':
      return w.f32(v.value);
    case 'd':
      return w.f64(v.value);
    case 'D':
      w.u8(v.value.scale);
      return w.u32(v.value.value);
    case 'S':
    case 'x':
      return w.longstr(v.value);
    case 'T':
      return w.u64(v.value);
    case 'A': {
      const start = w.off;
      w.u32(0);
      for (const item of v.value) writeTypedValue(w, item);
      w.buf.writeUInt32BE(w.off - start - 4, start);
      return;
    }
    case 'F':
      return writeTypedTable(w, v.value);
    case 'V':
      return;
  }
}
