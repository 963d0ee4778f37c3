import { describe, expect, it } from 'vitest';
import {
  decodeFieldTable,
  decodeTypedFieldTable,
  encodeFieldTable,
  encodeTypedFieldTable,
  type FieldTable,
} from '@conveyor/amqp';

/** A table of one entry `k` with type tag `tag` and raw value bytes. */
function rawTable(tag: string, value: number[] | Buffer): Buffer {
  const entry = Buffer.concat([Buffer.from([1, 0x6b]), Buffer.from(tag, 'latin1'), Buffer.from(value)]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(entry.length);
  return Buffer.concat([len, entry]);
}

const EVERY_TYPE: FieldTable = [
  ['t', { type: 't', value: true }],
  ['b', { type: 'b', value: -5 }],
  ['B', { type: 'B', value: 250 }],
  ['s', { type: 's', value: -300 }],
  ['u', { type: 'u', value: 65000 }],
  ['I', { type: 'I', value: -2_000_000_000 }],
  ['i', { type: 'i', value: 4_000_000_000 }],
  ['l', { type: 'l', value: -(2 ** 40) }],
  ['lbig', { type: 'l', value: -(2n ** 62n) }],
  ['f', { type: 'f', value: 1.5 }],
  ['d', { type: 'd', value: Math.PI }],
  ['D', { type: 'D', value: { scale: 2, value: 12345 } }],
  ['S', { type: 'S', value: Buffer.from('héllo') }],
  ['T', { type: 'T', value: 1_700_000_000 }],
  ['V', { type: 'V', value: null }],
  ['x', { type: 'x', value: Buffer.from([0, 255, 1]) }],
  [
    'A',
    {
      type: 'A',
      value: [
        { type: 'I', value: 1 },
        { type: 'S', value: Buffer.from('two') },
      ],
    },
  ],
  ['F', { type: 'F', value: [['inner', { type: 't', value: false }]] }],
];

describe('field tables', () => {
  it('typed view round-trips every value type exactly', () => {
    const bytes = encodeTypedFieldTable(EVERY_TYPE);
    expect(decodeTypedFieldTable(bytes)).toEqual(EVERY_TYPE);
  });

  it('plain view decodes every type into header values', () => {
    const plain = decodeFieldTable(encodeTypedFieldTable(EVERY_TYPE));
    expect(plain).toEqual({
      t: true,
      b: -5,
      B: 250,
      s: -300,
      u: 65000,
      I: -2_000_000_000,
      i: 4_000_000_000,
      l: -(2 ** 40),
      lbig: -(2n ** 62n),
      f: 1.5,
      d: Math.PI,
      D: 123.45,
      S: 'héllo',
      T: new Date(1_700_000_000_000),
      V: null,
      x: Buffer.from([0, 255, 1]),
      A: [1, 'two'],
      F: { inner: false },
    });
  });

  it('encodes plain values with sensible types', () => {
    const bytes = encodeFieldTable({
      small: 7,
      big: 2 ** 40,
      frac: 0.25,
      str: 's',
      buf: Buffer.from([1]),
      date: new Date(5000),
      yes: true,
      nil: null,
      undef: undefined,
      arr: [1],
      obj: { a: 1 },
      bigint: 5n,
    });
    const typed = Object.fromEntries(decodeTypedFieldTable(bytes).map(([k, v]) => [k, v.type]));
    expect(typed).toEqual({
      small: 'I',
      big: 'l',
      frac: 'd',
      str: 'S',
      buf: 'x',
      date: 'T',
      yes: 't',
      nil: 'V',
      undef: 'V',
      arr: 'A',
      obj: 'F',
      bigint: 'l',
    });
    expect(decodeFieldTable(bytes)).toMatchObject({
      small: 7,
      big: 2 ** 40,
      date: new Date(5000),
      bigint: 5,
    });
  });

  it('int32 boundaries pick I inside and l outside', () => {
    const types = decodeTypedFieldTable(encodeFieldTable({ a: 2 ** 31 - 1, b: -(2 ** 31), c: 2 ** 31 })).map(
      ([, v]) => v.type,
    );
    expect(types).toEqual(['I', 'I', 'l']);
  });

  it('never lets a peer key reach the prototype', () => {
    const table = decodeFieldTable(
      encodeTypedFieldTable([['__proto__', { type: 'S', value: Buffer.from('x') }]]),
    );
    expect(Object.getPrototypeOf(table)).toBe(Object.prototype);
    expect(Object.keys(table)).toEqual(['__proto__']);
  });

  it.each([
    ['unknown type tag', rawTable('Z', [0])],
    ['truncated value', rawTable('I', [0, 0])],
    ['length longer than the data', Buffer.from([0, 0, 0, 9, 1, 0x6b])],
    ['string longer than its table', rawTable('S', [0, 0, 0, 50, 0x61])],
    ['truncated key', Buffer.from([0, 0, 0, 2, 5, 0x6b])],
  ])('%s is a SYNTAX_ERROR (502)', (_label, bytes) => {
    expect(() => decodeFieldTable(bytes)).toThrow(
      expect.objectContaining({ name: 'AmqpFrameError', amqpReplyCode: 502 }),
    );
    expect(() => decodeTypedFieldTable(bytes)).toThrow(expect.objectContaining({ amqpReplyCode: 502 }));
  });

  it('refuses pathological nesting with a typed error instead of overflowing the stack', () => {
    let table: FieldTable = [];
    for (let i = 0; i < 200; i++) table = [['n', { type: 'F', value: table }]];
    const bytes = encodeTypedFieldTable(table);
    expect(() => decodeFieldTable(bytes)).toThrow(expect.objectContaining({ amqpReplyCode: 502 }));
  });
});
