import type { MessageProperties, PeekedMessage, QueueRecordInput, StoredMessage } from '@conveyor/core';
import { decodeValue, encodeValue } from './value-codec.js';

/** A record as script arguments, in the order `append` in the Lua prelude reads them. */
export function recordArgs(record: QueueRecordInput): (string | Buffer)[] {
  const { message } = record;
  const body = message.body;
  return [
    message.exchange,
    message.routingKey,
    encodeValue(message.properties),
    Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    String(record.enqueuedAt),
    record.expiresAt === undefined ? '' : String(record.expiresAt),
    record.readyAt === undefined ? '' : String(record.readyAt),
    String(record.deliveryCount ?? 0),
    record.durable ? '1' : '0',
  ];
}

/** A script's reply row: [id, e, k, p, b, t, x, r, c, d, state?] as Buffers (nil for absent fields). */
export type Row = (Buffer | null)[];

const str = (b: Buffer | null | undefined): string => (b == null ? '' : b.toString('utf8'));
const num = (b: Buffer | null | undefined): number | undefined =>
  b == null ? undefined : Number(b.toString());

export function rowToMessage(row: Row): StoredMessage {
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

export function rowToPeeked(row: Row): PeekedMessage {
  return { ...rowToMessage(row), state: str(row[10]) as PeekedMessage['state'] };
}
