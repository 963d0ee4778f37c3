import { describe, expect, it } from 'vitest';
import {
  legacyArgsToRecordArgs,
  recordArgs,
  rowToMessage,
  rowToPeeked,
  takenToMessages,
} from '../src/record-codec.js';

/** A reply row as `fetch` in the Lua prelude builds it from a record's script arguments. */
const rowOf = (id: string, args: (string | Buffer)[], count: string): (Buffer | null)[] => [
  Buffer.from(id),
  args[0] as Buffer,
  Buffer.from(count),
  args[2] === '' ? null : Buffer.from(args[2] as string),
];

describe('record codec', () => {
  it('a packed record reads back whole, the delivery count and readyAt from beside it', () => {
    const args = recordArgs({
      message: {
        exchange: 'x',
        routingKey: 'rk',
        properties: { contentType: 'a/b', headers: { d: new Date(5) } },
        body: new Uint8Array([9, 8]),
      },
      enqueuedAt: 7,
      readyAt: 11,
      deliveryCount: 1,
      durable: true,
    });
    expect(args.slice(1)).toEqual(['2', '11', '1']);
    expect(rowToMessage(rowOf('5', args, '4'))).toEqual({
      id: '5',
      message: {
        exchange: 'x',
        routingKey: 'rk',
        properties: { contentType: 'a/b', headers: { d: new Date(5) } },
        body: Buffer.from([9, 8]),
      },
      enqueuedAt: 7,
      readyAt: 11,
      deliveryCount: 4,
      durable: true,
    });
    expect(rowToPeeked([...rowOf('5', args, '4'), Buffer.from('delayed')]).state).toBe('delayed');
  });

  it('a move intent written before the packed format converts to the same record', () => {
    const legacy = ['ex', 'rk', '{"priority":2}', 'body', '3', '99', '', '2', '0'].map((s) => Buffer.from(s));
    const args = legacyArgsToRecordArgs(legacy);
    expect(rowToMessage(rowOf('1', args, args[3] as string))).toEqual({
      id: '1',
      message: { exchange: 'ex', routingKey: 'rk', properties: { priority: 2 }, body: Buffer.from('body') },
      enqueuedAt: 3,
      expiresAt: 99,
      deliveryCount: 2,
      durable: false,
    });
  });

  it('names and properties in any script keep their lengths in bytes, not characters', () => {
    const message = {
      exchange: 'ex✓',
      routingKey: 'ключ-é-🚀',
      properties: { headers: { 'x-名前': 'значение' }, expiration: 5 },
      body: new Uint8Array([1, 2, 3]),
    };
    const args = recordArgs({ message, enqueuedAt: 1, expiresAt: 6, durable: true });
    expect(rowToMessage(rowOf('2', args, '0'))).toEqual({
      id: '2',
      message: { ...message, body: Buffer.from([1, 2, 3]) },
      enqueuedAt: 1,
      expiresAt: 6,
      deliveryCount: 0,
      durable: true,
    });
  });

  it("a take's rows carry the count and readyAt in the head only when they are not a first delivery's", () => {
    const packed = recordArgs({
      message: { exchange: 'x', routingKey: 'k', properties: {}, body: new Uint8Array([1]) },
      enqueuedAt: 3,
      durable: true,
    })[0] as Buffer;
    const taken = takenToMessages(['7', '8 3', '9 2 1234'].flatMap((head) => [Buffer.from(head), packed]));
    expect(taken.map((m) => [m.id, m.deliveryCount, m.readyAt])).toEqual([
      ['7', 1, undefined],
      ['8', 3, undefined],
      ['9', 2, 1234],
    ]);
    expect(taken[0]).not.toHaveProperty('readyAt');
    expect(() => takenToMessages([Buffer.from('5'), null])).toThrow(/record 5: missing/);
  });

  it("a take of first deliveries only: '*' and the ids joined, then the packed values; the same messages", () => {
    const packedOf = (body: number[]) =>
      recordArgs({
        message: { exchange: 'ex', routingKey: 'k', properties: {}, body: new Uint8Array(body) },
        enqueuedAt: 3,
        durable: true,
      })[0] as Buffer;
    const values = [packedOf([1]), packedOf([]), packedOf([0x2a, 0x20])];
    const plain = takenToMessages([Buffer.from('*7 8 9'), ...values]);
    const headed = takenToMessages(
      ['7', '8', '9'].flatMap((id, i) => [Buffer.from(id), values[i] as Buffer]),
    );
    expect(plain).toEqual(headed);
    expect(plain.map((m) => [m.id, m.deliveryCount, [...m.message.body]])).toEqual([
      ['7', 1, [1]],
      ['8', 1, []],
      ['9', 1, [0x2a, 0x20]],
    ]);
    expect(() => takenToMessages([Buffer.from('*7 8'), ...values])).toThrow(/2 ids for 3 records/);
    expect(() => takenToMessages([Buffer.from('*7'), null])).toThrow(/record 7: missing/);
  });

  it('refuses a packed value of an unknown version', () => {
    const args = recordArgs({
      message: { exchange: '', routingKey: '', properties: {}, body: new Uint8Array() },
      enqueuedAt: 0,
      durable: false,
    });
    (args[0] as Buffer)[0] = 9;
    expect(() => rowToMessage(rowOf('1', args, '0'))).toThrow(/unknown packed format 9/);
  });
});
