import {
  StoreError,
  type MessageProperties,
  type PeekedMessage,
  type QueueRecordInput,
  type StoredMessage,
} from '@conveyor/core';
import { decodeValue, encodeValue } from './value-codec.js';

/**
 * A record's immutable part (exchange, routing key, properties, body, enqueuedAt, expiresAt,
 * durable) travels and is stored as one packed value, so a script copies one string per message
 * instead of nine and a take returns four reply items instead of ten. What a script changes stays
 * beside it, in the queue's meta hash: delivery count, readyAt (and the body size with them).
 *
 * Packed layout (version 2): u8 version, u8 durable, f64 enqueuedAt, f64 expiresAt (NaN: none),
 * the body size as 10 ASCII digits (zero-padded; a Buffer holds less), then exchange, routing
 * key and properties (value-codec JSON) each as u32 length + UTF-8, then the body to the end.
 * The size sits where a script reads it with one `string.sub`: parsing it out of version 1
 * (which lacks it) cost a take more Redis CPU than the rest of its Lua per message. Version 1
 * records still read.
 */
const PACKED_VERSION = 2;
/** Where a version-2 record holds its body size, as ten digits (read in place by the scripts). */
export const SIZE_AT = 18;
export const SIZE_DIGITS = 10;
/** Where the parts start, by version. */
const HEAD: Record<number, number> = { 1: 18, 2: SIZE_AT + SIZE_DIGITS };

export function packRecord(record: QueueRecordInput): Buffer {
  const { message } = record;
  const parts = [message.exchange, message.routingKey, encodeValue(message.properties)];
  const body = message.body;
  const head = HEAD[PACKED_VERSION] as number;
  let size = head + body.byteLength;
  for (const part of parts) size += 4 + Buffer.byteLength(part, 'utf8');
  const out = Buffer.allocUnsafe(size);
  out[0] = PACKED_VERSION;
  out[1] = record.durable ? 1 : 0;
  out.writeDoubleLE(record.enqueuedAt, 2);
  out.writeDoubleLE(record.expiresAt ?? Number.NaN, 10);
  out.write(String(body.byteLength).padStart(SIZE_DIGITS, '0'), SIZE_AT, 'latin1');
  let at = head;
  // Each part written straight into the record: no buffer of its own to copy from.
  for (const part of parts) {
    const length = out.write(part, at + 4, 'utf8');
    out.writeUInt32LE(length, at);
    at += 4 + length;
  }
  out.set(body, at);
  return out;
}

/** A record as script arguments, in the order `appendRecords` in the Lua prelude reads them. */
export function recordArgs(record: QueueRecordInput): (string | Buffer)[] {
  return [
    packRecord(record),
    String(record.message.body.byteLength),
    record.readyAt === undefined ? '' : String(record.readyAt),
    String(record.deliveryCount ?? 0),
  ];
}

/**
 * A script's reply row: [id, packed, c, r, state?], or for a record written before the packed
 * format [id, e, k, p, b, t, x, r, c, d, state?]; Buffers, nil for absent fields.
 */
export type Row = (Buffer | null)[];
const PACKED_ROW = 4;

const str = (b: Buffer | null | undefined): string => (b == null ? '' : b.toString('utf8'));
/** A number field; absent when nil or empty (a format-1 move intent holds '' for no expiresAt). */
const num = (b: Buffer | null | undefined): number | undefined =>
  b == null || b.length === 0 ? undefined : Number(b.toString());

function unpack(
  id: string,
  packed: Buffer,
  count: string | undefined,
  readyAt: string | undefined,
): StoredMessage {
  let at = HEAD[packed[0] ?? 0];
  if (at === undefined) throw new StoreError(`record ${id}: unknown packed format ${packed[0]}`);
  const parts: string[] = [];
  for (let i = 0; i < 3; i++) {
    const length = packed.readUInt32LE(at);
    parts.push(packed.toString('utf8', at + 4, at + 4 + length));
    at += 4 + length;
  }
  const stored: StoredMessage = {
    id,
    message: {
      exchange: parts[0] as string,
      routingKey: parts[1] as string,
      properties: decodeValue(parts[2] as string) as MessageProperties,
      body: packed.subarray(at),
    },
    enqueuedAt: packed.readDoubleLE(2),
    deliveryCount: count ? Number(count) : 0,
    durable: packed[1] === 1,
  };
  const expiresAt = packed.readDoubleLE(10);
  if (!Number.isNaN(expiresAt)) stored.expiresAt = expiresAt;
  if (readyAt) stored.readyAt = Number(readyAt);
  return stored;
}

/** A record of format 1 (nine fields) as [id, e, k, p, b, t, x, r, c, d]. */
export function legacyRowToMessage(row: Row): StoredMessage {
  const stored: StoredMessage = {
    id: str(row[0]),
    message: {
      exchange: str(row[1]),
      routingKey: str(row[2]),
      properties: decodeValue(str(row[3]) || '{}') as MessageProperties,
      body: row[4] ?? Buffer.alloc(0),
    },
    enqueuedAt: num(row[5]) ?? 0,
    deliveryCount: num(row[8]) ?? 0,
    durable: str(row[9]) === '1',
  };
  const expiresAt = num(row[6]);
  const readyAt = num(row[7]);
  if (expiresAt !== undefined) stored.expiresAt = expiresAt;
  if (readyAt !== undefined) stored.readyAt = readyAt;
  return stored;
}

export function rowToMessage(row: Row): StoredMessage {
  if (row.length !== PACKED_ROW)
    throw new StoreError(`record ${str(row[0])}: a reply row of ${row.length} items`);
  const packed = row[1];
  if (packed == null) throw new StoreError(`record ${str(row[0])}: missing`);
  return unpack(str(row[0]), packed, row[2]?.toString(), row[3]?.toString());
}

/**
 * A take's reply (`takeIds` in the Lua prelude). When every message is a first delivery without
 * readyAt: '*' and the ids joined by spaces, then each packed value. Otherwise, per message, a
 * head ('id', 'id count' or 'id count readyAt'), then its packed value.
 */
export function takenToMessages(reply: Row): StoredMessage[] {
  const out: StoredMessage[] = [];
  const first = reply[0];
  if (first != null && first[0] === PLAIN_TAKE) {
    const ids = first.toString('latin1', 1).split(' ');
    if (ids.length !== reply.length - 1)
      throw new StoreError(`a take's reply: ${ids.length} ids for ${reply.length - 1} records`);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as string;
      const packed = reply[i + 1];
      if (packed == null) throw new StoreError(`record ${id}: missing`);
      out.push(unpack(id, packed, '1', undefined));
    }
    return out;
  }
  for (let i = 0; i < reply.length; i += 2) {
    const [id = '', count = '1', readyAt] = str(reply[i]).split(' ');
    const packed = reply[i + 1];
    if (packed == null) throw new StoreError(`record ${id}: missing`);
    out.push(unpack(id, packed, count, readyAt));
  }
  return out;
}

/** '*': the first item of a take's reply whose messages are all first deliveries. */
const PLAIN_TAKE = 0x2a;

export function rowToPeeked(row: Row): PeekedMessage {
  const state = str(row[row.length - 1]) as PeekedMessage['state'];
  return { ...rowToMessage(row.slice(0, -1)), state };
}

/** Fields of a legacy (nine-field) record's script arguments; see `legacyArgsToRecordArgs`. */
export const LEGACY_RECORD_ARGS = 9;

/**
 * A cross-slot move intent written before the packed format holds the record as nine arguments
 * (e k p b t x r c d); a node replaying it converts them.
 */
export function legacyArgsToRecordArgs(args: (Buffer | null)[]): (string | Buffer)[] {
  return recordArgs(legacyRowToMessage([null, ...args]));
}
