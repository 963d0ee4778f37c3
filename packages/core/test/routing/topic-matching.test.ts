import { describe, expect, it } from 'vitest';
import { RoutingTable, TopicTrie, splitTopicKey } from '../../src/routing/index.js';

/** Obviously-correct (exponential) reference: `*` one word, `#` zero or more. */
function referenceMatch(pattern: readonly string[], words: readonly string[]): boolean {
  if (pattern.length === 0) return words.length === 0;
  const [head, ...rest] = pattern;
  if (head === '#')
    return referenceMatch(rest, words) || (words.length > 0 && referenceMatch(pattern, words.slice(1)));
  if (words.length === 0) return false;
  return (head === '*' || head === words[0]) && referenceMatch(rest, words.slice(1));
}

function trieMatches(bindingKey: string, routingKey: string): boolean {
  const trie = new TopicTrie<string>();
  trie.add(bindingKey, 'v');
  const hits: string[] = [];
  trie.match(splitTopicKey(routingKey), (v) => hits.push(v));
  return hits.length > 0;
}

/** Seeded PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// [binding key, routing key, matches]
const CASES: [string, string, boolean][] = [
  ['#', '', true],
  ['#', 'a', true],
  ['#', 'a.b.c', true],
  ['#.#', '', true],
  ['#.#', 'a.b', true],
  ['*', '', false],
  ['*', 'a', true],
  ['*', 'a.b', false],
  ['', '', true],
  ['', 'a', false],
  ['a', '', false],
  ['a', 'a', true],
  ['a', 'b', false],
  ['a.b', 'a.b', true],
  ['a.b', 'a.b.c', false],
  ['a.#', 'a', true],
  ['a.#', 'a.b', true],
  ['a.#', 'a.b.c', true],
  ['a.#', 'b.a', false],
  ['#.a', 'a', true],
  ['#.a', 'x.y.a', true],
  ['#.a', 'a.x', false],
  ['a.#.b', 'a.b', true],
  ['a.#.b', 'a.x.b', true],
  ['a.#.b', 'a.x.y.b', true],
  ['a.#.b', 'a.x.y', false],
  ['a.#.b', 'b', false],
  ['a.#.b', 'a.b.b', true],
  ['#.a.#', 'a', true],
  ['#.a.#', 'x.a.y', true],
  ['#.a.#', 'x.y', false],
  ['a.*.b', 'a.x.b', true],
  ['a.*.b', 'a.b', false],
  ['a.*.b', 'a..b', true],
  ['*.#', '', false],
  ['*.#', 'a', true],
  ['*.#', 'a.b.c', true],
  ['#.*', '', false],
  ['#.*', 'a.b', true],
  ['*.*', '.', true],
  ['*.*', 'a', false],
  ['a..b', 'a..b', true],
  ['a..b', 'a.b', false],
  ['a.', 'a.', true],
  ['a.', 'a', false],
  ['.a', '.a', true],
  ['.', '.', true],
  ['.', '', false],
  ['a*', 'a*', true],
  ['a*', 'ab', false],
  ['a#', 'a#', true],
  ['a#', 'a.b', false],
  ['#.#.a.#.#', 'a', true],
  ['sensors.*.temp', 'sensors.kitchen.temp', true],
  ['sensors.*.temp', 'sensors.kitchen.humidity', false],
];

describe('topic matching', () => {
  it.each(CASES)('binding %j against routing key %j → %s', (bindingKey, routingKey, expected) => {
    expect(referenceMatch(splitTopicKey(bindingKey), splitTopicKey(routingKey))).toBe(expected);
    expect(trieMatches(bindingKey, routingKey)).toBe(expected);
  });

  it('splits the empty key into no words and keeps empty words', () => {
    expect(splitTopicKey('')).toEqual([]);
    expect(splitTopicKey('a..b')).toEqual(['a', '', 'b']);
    expect(splitTopicKey('.')).toEqual(['', '']);
  });

  it('matches a topic exchange through the routing table the same way', () => {
    const table = new RoutingTable({ queueExists: () => false });
    table.bind('amq.topic', { kind: 'queue', name: 'q' }, 'a.#.b');
    expect(table.route('amq.topic', 'a.x.y.b').queues).toEqual(['q']);
    expect(table.route('amq.topic', 'a.x.y').unroutable).toBe(true);
  });

  it('agrees with the reference matcher on random bindings and keys (seeded), before and after removals', () => {
    const rand = prng(0xc0ffee);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const randomKey = (alphabet: readonly string[], maxWords: number): string => {
      const n = Math.floor(rand() * (maxWords + 1));
      return Array.from({ length: n }, () => pick(alphabet)).join('.');
    };
    const patternAlphabet = ['a', 'b', 'c', '', '*', '#'];
    const keyAlphabet = ['a', 'b', 'c', ''];

    for (let round = 0; round < 8; round++) {
      const trie = new TopicTrie<number>();
      const patterns = Array.from({ length: 60 }, () => randomKey(patternAlphabet, 5));
      patterns.forEach((p, i) => trie.add(p, i));
      expect(trie.size).toBe(patterns.length);
      const removed = new Set<number>();

      const check = (): void => {
        for (let k = 0; k < 100; k++) {
          const key = randomKey(keyAlphabet, 6);
          const words = splitTopicKey(key);
          const got = new Set<number>();
          trie.match(words, (i) => got.add(i));
          const want = new Set(
            patterns.flatMap((p, i) =>
              !removed.has(i) && referenceMatch(splitTopicKey(p), words) ? [i] : [],
            ),
          );
          expect(
            [...got].sort((x, y) => x - y),
            `key ${JSON.stringify(key)}`,
          ).toEqual([...want].sort((x, y) => x - y));
        }
      };
      check();
      for (let i = 0; i < patterns.length; i += 2) {
        expect(trie.remove(patterns[i] as string, i)).toBe(true);
        removed.add(i);
      }
      check();
    }
  });

  it('add is idempotent per (key, value) and remove of an absent pair is a no-op', () => {
    const trie = new TopicTrie<string>();
    expect(trie.add('a.*', 'x')).toBe(true);
    expect(trie.add('a.*', 'x')).toBe(false);
    expect(trie.add('a.*', 'y')).toBe(true);
    expect(trie.size).toBe(2);
    expect(trie.remove('a.#', 'x')).toBe(false);
    expect(trie.remove('a.*', 'z')).toBe(false);
    expect(trie.remove('a.*', 'x')).toBe(true);
    expect(trie.remove('a.*', 'x')).toBe(false);
    const hits: string[] = [];
    trie.match(['a', 'b'], (v) => hits.push(v));
    expect(hits).toEqual(['y']);
  });

  it('keeps sibling branches intact as children come and go', () => {
    const trie = new TopicTrie<string>();
    const hits = (key: string): string[] => {
      const out: string[] = [];
      trie.match(splitTopicKey(key), (v) => out.push(v));
      return out.sort();
    };
    trie.add('a.x', '1');
    trie.add('a.y', '2');
    trie.add('a.z', '3');
    trie.remove('a.x', '1');
    expect([hits('a.x'), hits('a.y'), hits('a.z')]).toEqual([[], ['2'], ['3']]);
    trie.add('a.x', '4');
    trie.remove('a.y', '2');
    trie.remove('a.z', '3');
    expect([hits('a.x'), hits('a.y'), hits('a.z')]).toEqual([['4'], [], []]);
    trie.remove('a.x', '4');
    trie.add('a.w', '5');
    expect([hits('a.w'), hits('a.x')]).toEqual([['5'], []]);
    expect(trie.size).toBe(1);
  });

  it('treats #.# as # (same key after collapsing), so either spelling removes the other', () => {
    const trie = new TopicTrie<string>();
    trie.add('a.#.#', 'x');
    expect(trie.remove('a.#', 'x')).toBe(true);
    expect(trie.size).toBe(0);
  });

  it('stays polynomial on many-# patterns against long keys', () => {
    const trie = new TopicTrie<string>();
    const pattern = Array.from({ length: 6 }, () => '#.a').join('.') + '.#.b';
    trie.add(pattern, 'hit');
    // Sized so a naive backtracking matcher still finishes (in seconds) and fails here, not hangs.
    const words = Array.from({ length: 40 }, () => 'a');
    const started = performance.now();
    let hits = 0;
    trie.match(words, () => hits++);
    trie.match([...words, 'b'], () => hits++);
    expect(hits).toBe(1);
    // Naive backtracking takes seconds here; the memoized walk visits about 40 × 7 states.
    expect(performance.now() - started).toBeLessThan(250);
  });
});
