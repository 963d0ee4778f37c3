import { describe, expect, it } from 'vitest';
import { IdBlocks } from '../src/id-blocks.js';

/** A store's seq in memory: each reservation of n returns the last of the next n ids. */
function counter(start = 1000) {
  let seq = start;
  const asked: number[] = [];
  let gate: Promise<void> = Promise.resolve();
  return {
    asked,
    /** Holds every reservation until the returned function is called. */
    hold(): () => void {
      let open!: () => void;
      gate = new Promise((resolve) => (open = resolve));
      return open;
    },
    reserve: async (_queue: string, n: number) => {
      asked.push(n);
      await gate;
      seq += n;
      return seq;
    },
  };
}

describe('IdBlocks', () => {
  it('hands out consecutive ids from one reservation per block', async () => {
    const c = counter();
    const blocks = new IdBlocks(c.reserve, 8);
    const got: string[][] = [];
    for (const n of [3, 3]) got.push(await blocks.withIds('q', n, async (ids) => ids));
    expect(got).toEqual([
      ['1001', '1002', '1003'],
      ['1004', '1005', '1006'],
    ]);
    // 2 left in the block: a batch of 3 reserves anew, the rest of the old block unused.
    expect(await blocks.withIds('q', 3, async (ids) => ids)).toEqual(['1009', '1010', '1011']);
    // A batch larger than a block reserves exactly its size.
    expect(await blocks.withIds('q', 20, async (ids) => ids.length)).toBe(20);
    expect(c.asked).toEqual([8, 8, 20]);
  });

  it('calls back in the order asked, also for those that waited for a reservation', async () => {
    const c = counter();
    const blocks = new IdBlocks(c.reserve, 4);
    const open = c.hold();
    const order: string[] = [];
    const use = (tag: string) => async (ids: string[]) => void order.push(`${tag}:${ids.join(',')}`);
    const waits = [
      blocks.withIds('q', 3, use('a')),
      blocks.withIds('q', 1, use('b')),
      blocks.withIds('q', 2, use('c')),
    ];
    open();
    await Promise.all(waits);
    // b fits in a's block but waited behind it; c needed a block of its own.
    expect(order).toEqual(['a:1001,1002,1003', 'b:1004', 'c:1005,1006']);
    // 2 left: d needs 3 and waits for a block; e would fit in the 2 but waits behind d.
    const next = c.hold();
    const later = [blocks.withIds('q', 3, use('d')), blocks.withIds('q', 1, use('e'))];
    next();
    await Promise.all(later);
    expect(order.slice(3)).toEqual(['d:1009,1010,1011', 'e:1012']);
  });

  it('starts a queue it forgot on a new block, and keeps queues apart', async () => {
    const c = counter();
    const blocks = new IdBlocks(c.reserve, 4);
    await blocks.withIds('q', 1, async () => undefined);
    await blocks.withIds('other', 1, async () => undefined);
    blocks.forget('q');
    expect(await blocks.withIds('q', 1, async (ids) => ids)).toEqual(['1009']);
    expect(await blocks.withIds('other', 1, async (ids) => ids)).toEqual(['1006']);
  });

  it('refuses ids past the exact integers of a double, and fails every waiter of a failed reservation', async () => {
    const past = new IdBlocks(async () => 2 ** 53 + 2, 4);
    await expect(past.withIds('q', 1, async (ids) => ids)).rejects.toThrow(/not an exact integer/);
    const failing = new IdBlocks(async () => {
      throw new Error('down');
    }, 4);
    const both = [failing.withIds('q', 1, async () => 1), failing.withIds('q', 1, async () => 2)];
    for (const w of both) await expect(w).rejects.toThrow('down');
  });
});
