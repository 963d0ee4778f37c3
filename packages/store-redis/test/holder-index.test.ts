import { describe, expect, it } from 'vitest';
import { HolderIndex } from '../src/holder-index.js';

describe('HolderIndex', () => {
  it('lists the queues a holder took from once, and forgets them when taken', () => {
    const index = new HolderIndex();
    index.touch('n/h', 'q1', 1);
    index.touch('n/h', 'q2', 1);
    index.touch('n/h', 'q1', 2);
    expect(index.take('n/h').sort()).toEqual(['q1', 'q2']);
    expect(index.take('n/h')).toEqual([]);
  });

  it('prunes only stale entries whose holder holds nothing any more', async () => {
    const index = new HolderIndex();
    index.touch('n/a', 'q1', 10);
    index.touch('n/b', 'q1', 10);
    index.touch('n/c', 'q1', 500);
    const asked: (readonly [string, string])[] = [];
    await index.prune(100, 1_000, async (entries) => {
      asked.push(...entries);
      return entries.map(([holder]) => holder === 'n/b');
    });
    expect(asked.map(([h]) => h).sort()).toEqual(['n/a', 'n/b']); // n/c is fresh
    expect(index.size).toBe(2);
    expect(index.take('n/a')).toEqual([]);
    // n/b was confirmed at 1000 and n/c touched at 500: neither is stale before 400.
    await index.prune(400, 1_100, async () => {
      throw new Error('nothing is stale');
    });
  });

  it('keeps an entry taken from again while its check was under way', async () => {
    const index = new HolderIndex();
    index.touch('n/a', 'q1', 10);
    await index.prune(100, 1_000, async (entries) => {
      index.touch('n/a', 'q1', 200);
      return entries.map(() => false);
    });
    expect(index.take('n/a')).toEqual(['q1']);
  });
});
