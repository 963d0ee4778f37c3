import { describe, expect, it } from 'vitest';
import type { Headers } from '../../src/message.js';
import { RoutingTable, headerValuesEqual } from '../../src/routing/index.js';

/** Routes `headers` through amq.headers with one binding of `args`; true when it reaches the queue. */
function matches(args: Headers, headers: Headers | undefined): boolean {
  const t = new RoutingTable({ queueExists: () => false });
  t.bind('amq.headers', { kind: 'queue', name: 'q' }, 'ignored-key', args);
  return !t.route('amq.headers', 'any-key', headers).unroutable;
}

// [case, binding arguments, message headers, routes]
const CASES: [string, Headers, Headers | undefined, boolean][] = [
  ['all is the default', { a: 1, b: 2 }, { a: 1, b: 2, c: 3 }, true],
  ['all needs every key', { a: 1, b: 2 }, { a: 1 }, false],
  ['all needs equal values', { 'x-match': 'all', a: 1, b: 2 }, { a: 1, b: 3 }, false],
  ['all with no keys matches everything', { 'x-match': 'all' }, {}, true],
  ['all with no keys matches absent headers', {}, undefined, true],
  ['any needs one key', { 'x-match': 'any', a: 1, b: 2 }, { b: 2 }, true],
  ['any fails when none match', { 'x-match': 'any', a: 1, b: 2 }, { a: 2, c: 1 }, false],
  ['any with no keys matches nothing', { 'x-match': 'any' }, { a: 1 }, false],
  ['any ignores x- binding keys', { 'x-match': 'any', 'x-k': 1 }, { 'x-k': 1 }, false],
  ['all ignores x- binding keys', { 'x-match': 'all', 'x-k': 1, a: 1 }, { a: 1 }, true],
  ['all-with-x checks x- keys', { 'x-match': 'all-with-x', 'x-k': 1, a: 1 }, { a: 1 }, false],
  ['all-with-x matches x- keys', { 'x-match': 'all-with-x', 'x-k': 1, a: 1 }, { a: 1, 'x-k': 1 }, true],
  ['any-with-x matches on an x- key', { 'x-match': 'any-with-x', 'x-k': 1, a: 1 }, { 'x-k': 1 }, true],
  ['x-match itself is never compared', { 'x-match': 'all-with-x', a: 1 }, { a: 1 }, true],
  ['void (undefined) value checks presence only', { a: undefined }, { a: 'anything' }, true],
  ['void (null) value checks presence only', { a: null }, { a: 42 }, true],
  ['void value still needs the key', { a: undefined }, { b: 1 }, false],
  ['void counts for any', { 'x-match': 'any', a: null, b: 1 }, { a: 0 }, true],
  ['a non-void value does not equal void', { a: 1 }, { a: null }, false],
  ['number equals bigint', { a: 5 }, { a: 5n }, true],
  ['int equals float of same value', { a: 5 }, { a: 5.0 }, true],
  ['number differs from bigint of other value', { a: 5 }, { a: 6n }, false],
  ['string equals its UTF-8 bytes', { a: 'héllo' }, { a: Buffer.from('héllo', 'utf8') }, true],
  ['string differs from number', { a: '1' }, { a: 1 }, false],
  ['boolean compares strictly', { a: true }, { a: 1 }, false],
  ['nested tables compare deeply', { a: { b: [1, 'x'] } }, { a: { b: [1, 'x'] } }, true],
  ['nested tables differ', { a: { b: [1, 'x'] } }, { a: { b: [1, 'y'] } }, false],
  ['dates compare by time', { a: new Date(1000) }, { a: new Date(1000) }, true],
  ['inherited keys do not count as present', { toString: null }, {}, false],
];

describe('headers exchange matching', () => {
  it.each(CASES)('%s', (_name, args, headers, expected) => {
    expect(matches(args, headers)).toBe(expected);
  });

  it('ignores the routing key and routes each queue once', () => {
    const t = new RoutingTable({ queueExists: () => false });
    t.bind('amq.match', { kind: 'queue', name: 'q' }, 'k1', { a: 1 });
    t.bind('amq.match', { kind: 'queue', name: 'q' }, 'k2', { 'x-match': 'any', a: 1, b: 2 });
    expect(t.route('amq.match', 'whatever', { a: 1, b: 2 }).queues).toEqual(['q']);
  });

  it('accepts all four x-match values', () => {
    const t = new RoutingTable({ queueExists: () => false });
    for (const mode of ['all', 'any', 'all-with-x', 'any-with-x']) {
      expect(
        t.bind('amq.headers', { kind: 'queue', name: mode }, '', { 'x-match': mode }).addedBindings,
      ).toHaveLength(1);
    }
  });

  it('header value equality is symmetric for mixed types', () => {
    const pairs: [Parameters<typeof headerValuesEqual>[0], Parameters<typeof headerValuesEqual>[1]][] = [
      [1, 1n],
      ['a', Buffer.from('a')],
      [null, undefined],
      [
        [1, 2],
        [1, 2n],
      ],
    ];
    for (const [a, b] of pairs) {
      expect(headerValuesEqual(a, b)).toBe(true);
      expect(headerValuesEqual(b, a)).toBe(true);
    }
    expect(headerValuesEqual(1.5, 1n)).toBe(false);
    expect(headerValuesEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(headerValuesEqual([1], { 0: 1 })).toBe(false);
  });
});
