/**
 * Content properties (the property flags + property list of a content header), interpreted from the
 * generated `BASIC_PROPERTY_SPECS`, and the mapping between AMQP basic properties and the core's
 * `MessageProperties`.
 *
 * Property flags: 15 properties per 16-bit word, first property in bit 15; bit 0 set means another flags
 * word follows.
 */
import { syntaxError } from './errors.js';
import { PreconditionFailedError, type Headers, type MessageProperties } from '@conveyor/core';
import { readTable, writeTable } from './field-table.js';
import type { Reader, Writer } from './primitives.js';
import { BASIC_PROPERTY_SPECS, ClassId, type BasicProperties, type PropertySpec } from './spec.generated.js';

function specsFor(classId: number): readonly PropertySpec[] {
  return classId === ClassId.basic ? BASIC_PROPERTY_SPECS : [];
}

/** Read property flags and the property list of `classId`. Throws `AmqpFrameError` (502). */
export function readProperties(r: Reader, classId: number): BasicProperties {
  const specs = specsFor(classId);
  let flags = r.u16();
  // Continuation words: legal, but they may only name properties that exist.
  let extra = 0;
  for (let word = flags; (word & 1) === 1;) {
    word = r.u16();
    extra |= word & 0xfffe;
  }
  if (extra !== 0) throw syntaxError('property flags name properties beyond the last one defined');
  flags &= 0xfffe;
  if (flags & ((1 << (16 - specs.length)) - 2)) {
    throw syntaxError(`property flags 0x${flags.toString(16)} name undefined properties of class ${classId}`);
  }
  const props: Record<string, unknown> = {};
  for (let i = 0; flags !== 0 && i < specs.length; i++) {
    const bit = 1 << (15 - i);
    if ((flags & bit) === 0) continue;
    flags &= ~bit;
    const p = specs[i]!;
    let v: unknown;
    switch (p.type) {
      case 'shortstr':
        v = r.shortstr();
        break;
      case 'octet':
        v = r.u8();
        break;
      case 'table':
        v = readTable(r);
        break;
      case 'timestamp':
      case 'longlong':
        v = r.u64();
        break;
      case 'short':
        v = r.u16();
        break;
      case 'long':
        v = r.u32();
        break;
      case 'longstr':
        v = r.longstrBytes();
        break;
      case 'bit':
        // No class defines bit properties; the flag itself would be the value.
        v = true;
        break;
    }
    props[p.field] = v;
  }
  return props as BasicProperties;
}

/** Write property flags and the property list (properties that are `undefined` are absent). */
export function writeProperties(w: Writer, props: BasicProperties, classId: number = ClassId.basic): void {
  const specs = specsFor(classId);
  const values = props as Record<string, unknown>;
  const flagsAt = w.off;
  w.u16(0);
  let flags = 0;
  for (let i = 0; i < specs.length; i++) {
    const p = specs[i]!;
    const v = values[p.field];
    if (v === undefined) continue;
    flags |= 1 << (15 - i);
    switch (p.type) {
      case 'shortstr':
        w.shortstr(v as string);
        break;
      case 'octet':
        w.u8(v as number);
        break;
      case 'table':
        writeTable(w, v as Headers);
        break;
      case 'timestamp':
      case 'longlong':
        w.u64(v as number);
        break;
      case 'short':
        w.u16(v as number);
        break;
      case 'long':
        w.u32(v as number);
        break;
      case 'longstr':
        w.longstr(v as Buffer);
        break;
      case 'bit':
        break;
    }
  }
  w.buf.writeUInt16BE(flags, flagsAt);
}

/**
 * AMQP basic properties → the core's `MessageProperties`. `deliveryMode` 2 means persistent; `expiration`
 * travels as a decimal string of milliseconds. `clusterId` (deprecated) has no place in the model.
 * Throws the core's `PreconditionFailedError` (406, a channel error, as RabbitMQ answers) for an expiration
 * that is not a non-negative integer.
 */
export function toMessageProperties(p: BasicProperties): MessageProperties {
  const m: MessageProperties = {};
  if (p.contentType !== undefined) m.contentType = p.contentType;
  if (p.contentEncoding !== undefined) m.contentEncoding = p.contentEncoding;
  if (p.headers !== undefined) m.headers = p.headers;
  if (p.deliveryMode !== undefined) m.persistent = p.deliveryMode === 2;
  if (p.priority !== undefined) m.priority = p.priority;
  if (p.correlationId !== undefined) m.correlationId = p.correlationId;
  if (p.replyTo !== undefined) m.replyTo = p.replyTo;
  if (p.expiration !== undefined) m.expiration = parseExpiration(p.expiration);
  if (p.messageId !== undefined) m.messageId = p.messageId;
  if (p.timestamp !== undefined) m.timestamp = p.timestamp;
  if (p.type !== undefined) m.type = p.type;
  if (p.userId !== undefined) m.userId = p.userId;
  if (p.appId !== undefined) m.appId = p.appId;
  return m;
}

/** The core's `MessageProperties` → AMQP basic properties (inverse of `toMessageProperties`). */
export function fromMessageProperties(m: MessageProperties): BasicProperties {
  const p: BasicProperties = {};
  if (m.contentType !== undefined) p.contentType = m.contentType;
  if (m.contentEncoding !== undefined) p.contentEncoding = m.contentEncoding;
  if (m.headers !== undefined) p.headers = m.headers;
  if (m.persistent !== undefined) p.deliveryMode = m.persistent ? 2 : 1;
  if (m.priority !== undefined) p.priority = m.priority;
  if (m.correlationId !== undefined) p.correlationId = m.correlationId;
  if (m.replyTo !== undefined) p.replyTo = m.replyTo;
  if (m.expiration !== undefined) p.expiration = String(Math.max(0, Math.floor(m.expiration)));
  if (m.messageId !== undefined) p.messageId = m.messageId;
  if (m.timestamp !== undefined) p.timestamp = m.timestamp;
  if (m.type !== undefined) p.type = m.type;
  if (m.userId !== undefined) p.userId = m.userId;
  if (m.appId !== undefined) p.appId = m.appId;
  return p;
}

/** RabbitMQ accepts only a non-negative decimal integer (milliseconds) and refuses the rest with 406. */
export function parseExpiration(s: string): number {
  if (!/^[0-9]{1,15}$/.test(s)) throw new PreconditionFailedError(`invalid expiration '${s}'`);
  return Number(s);
}
