/** Standalone field-table encode/decode (with the 4-byte length prefix), for callers outside frame decoding. */
import type { Headers } from '@conveyor/core';
import { AmqpFrameError } from './errors.js';
import { readTable, readTypedTable, writeTable, writeTypedTable, type FieldTable } from './field-table.js';
import { Reader, Writer } from './primitives.js';

const scratch = new Writer(4096);

export function encodeFieldTable(table: Headers): Buffer {
  writeTable(scratch.reset(), table);
  return scratch.toBuffer();
}

export function encodeTypedFieldTable(table: FieldTable): Buffer {
  writeTypedTable(scratch.reset(), table);
  return scratch.toBuffer();
}

/** Decode a whole buffer holding one table. Throws `AmqpFrameError` (502) on malformed input. */
export function decodeFieldTable(buf: Buffer): Headers {
  return whole(buf, readTable);
}

export function decodeTypedFieldTable(buf: Buffer): FieldTable {
  return whole(buf, readTypedTable);
}

function whole<T>(buf: Buffer, read: (r: Reader) => T): T {
  const r = new Reader(buf);
  let value: T;
  try {
    value = read(r);
  } catch (err) {
    if (err instanceof AmqpFrameError) throw err;
    throw new AmqpFrameError('SYNTAX_ERROR', 'malformed field table', { cause: err });
  }
  if (r.off !== buf.length) throw new AmqpFrameError('SYNTAX_ERROR', 'bytes after the field table');
  return value;
}
