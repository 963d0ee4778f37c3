import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Delivery } from '../../src/engine/delivery.js';
import { QueueReceivers } from '../../src/engine/queue-receivers.js';

const delivery = (id: string) => ({ id }) as Delivery;

describe('QueueReceivers', () => {
  afterEach(() => vi.useRealTimers());

  it('serves receivers in arrival order, each with what one take brought it', async () => {
    const receivers = new QueueReceivers();
    const first = receivers.wait(1, 1000, 10_000, 'a');
    const second = receivers.wait(5, 1000, 10_000, 'b');
    const asked: string[] = [];
    const take = async (holder: string, max: number) => {
      asked.push(`${holder}:${max}`);
      return [delivery(holder)];
    };
    expect(await receivers.serveFirst(take)).toBe(true);
    expect(await receivers.serveFirst(take)).toBe(true);
    expect(await receivers.serveFirst(take)).toBe(false); // nobody left
    expect(asked).toEqual(['a:1', 'b:5']);
    expect(await first).toEqual([delivery('a')]);
    expect(await second).toEqual([delivery('b')]);
  });

  it('keeps a receiver waiting when its take found nothing, and lets it go with nothing at its timeout', async () => {
    vi.useFakeTimers();
    const receivers = new QueueReceivers();
    const received = receivers.wait(1, 1000, 50, 'a');
    expect(await receivers.serveFirst(async () => [])).toBe(false);
    expect(receivers.length).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(await received).toEqual([]);
    expect(receivers.length).toBe(0);
  });

  it('a timeout during a take for the receiver waits for that take, which the receiver then gets', async () => {
    vi.useFakeTimers();
    const receivers = new QueueReceivers();
    const received = receivers.wait(1, 1000, 50, 'a');
    let finish: ((d: Delivery[]) => void) | undefined;
    const serving = receivers.serveFirst(() => new Promise<Delivery[]>((r) => (finish = r)));
    await vi.advanceTimersByTimeAsync(100); // timed out while the take is under way
    expect(receivers.length).toBe(1);
    finish!([delivery('m')]);
    expect(await serving).toBe(true);
    expect(await received).toEqual([delivery('m')]); // not taken for a receiver already gone
    expect(receivers.length).toBe(0);
  });

  it('a receiver that timed out during a take that found nothing is let go, and the next one is served', async () => {
    vi.useFakeTimers();
    const receivers = new QueueReceivers();
    const first = receivers.wait(1, 1000, 50, 'a');
    void receivers.wait(1, 1000, 10_000, 'b');
    let finish: ((d: Delivery[]) => void) | undefined;
    const serving = receivers.serveFirst(() => new Promise<Delivery[]>((r) => (finish = r)));
    await vi.advanceTimersByTimeAsync(100);
    finish!([]);
    expect(await serving).toBe(true); // served (with nothing): the round goes on to the next
    expect(await first).toEqual([]);
    expect(receivers.length).toBe(1);
  });

  it('closing gives every receiver nothing and clears their timers', async () => {
    vi.useFakeTimers();
    const receivers = new QueueReceivers();
    const a = receivers.wait(1, 1000, 10_000, 'a');
    const b = receivers.wait(1, 1000, 10_000, 'b');
    receivers.closeAll();
    expect(await Promise.all([a, b])).toEqual([[], []]);
    expect(receivers.length).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
