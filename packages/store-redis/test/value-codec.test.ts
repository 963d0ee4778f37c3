import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../src/value-codec.js';

const roundTrip = (value: unknown): unknown => decodeValue(encodeValue(value));

/** `{ a: { a: … value } }`, `depth` objects deep. */
const nest = (depth: number, value: unknown): unknown => {
  let out = value;
  for (let i = 0; i < depth; i++) out = { a: out };
  return out;
};

describe('value codec', () => {
  it('writes a value without tagged parts as plain JSON', () => {
    const properties = {
      contentType: 'application/json',
      persistent: true,
      priority: 3,
      headers: { 'x-list': [1, 'two', null, { deep: [true] }], 'x-$b': '$b', empty: {} },
    };
    expect(encodeValue(properties)).toBe(JSON.stringify(properties));
    expect(roundTrip(properties)).toEqual(properties);
    expect(encodeValue(undefined)).toBe('null');
  });

  it('tags bytes, bigints and dates wherever they sit, and wraps objects that look like tags', () => {
    const value = {
      headers: {
        list: [1, { at: new Date(0) }, 2n ** 70n],
        bytes: Buffer.from([0, 1, 255]),
        view: new Uint8Array([7, 8]),
        fake: { $b: 'not bytes' },
        fakeWrap: { $o: { $n: 'not a number' } },
      },
    };
    expect(roundTrip(value)).toEqual({
      headers: {
        list: [1, { at: new Date(0) }, 2n ** 70n],
        bytes: Buffer.from([0, 1, 255]),
        view: Buffer.from([7, 8]),
        fake: { $b: 'not bytes' },
        fakeWrap: { $o: { $n: 'not a number' } },
      },
    });
    expect(encodeValue({ n: 5n })).toBe('{"n":{"$n":"5"}}');
    expect(encodeValue([{ $d: 'x' }])).toBe('[{"$o":{"$d":"x"}}]');
  });

  it('wraps what a toJSON returns when it looks like a tag', () => {
    const value = { h: { toJSON: () => ({ $n: '5' }) } };
    expect(roundTrip(value)).toEqual({ h: { $n: '5' } });
  });

  it('a deep value round-trips, past the depth the plain scan looks at', () => {
    const deep = nest(12, { $b: 'not bytes', more: nest(3, new Date(9)) });
    expect(roundTrip(deep)).toEqual(deep);
    const tagLike = nest(12, { $d: 'not a date' });
    expect(roundTrip(tagLike)).toEqual(tagLike);
  });

  it('reads tags, including a key whose $ is escaped, and strings holding "$ as strings', () => {
    expect(decodeValue('{"a":{"$b":"AAH/"},"b":"\\"$b"}')).toEqual({
      a: Buffer.from([0, 1, 255]),
      b: '"$b',
    });
    expect(decodeValue('{"\\u0024n":"12"}')).toBe(12n);
    expect(decodeValue('{"a":"\\u00e9"}')).toEqual({ a: 'é' });
    expect(decodeValue('{"a":"$b","b":["$n"]}')).toEqual({ a: '$b', b: ['$n'] });
  });

  it('a "__proto__" key stays a key when its value is revived', () => {
    const value = decodeValue('{"__proto__":{"$n":"1"},"a":{"__proto__":{"$o":{"$d":"x"}}}}') as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toBe(1n);
    const inner = value.a as Record<string, unknown>;
    expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(inner, '__proto__')?.value).toEqual({ $d: 'x' });
  });
});
