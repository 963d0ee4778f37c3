import { describe, expect, it } from 'vitest';
import type { Delivery } from '../../src/index.js';
import { openBroker, sleep, text } from './broker-fixture.js';

/** A small seeded generator so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('competing consumers', () => {
  it('no message is held by two receivers at once, and each is handled exactly once when all ack', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('work');
    const total = 2_000;
    const random = rng(42);
    // message id → who holds it and until when (push deliveries: until settled)
    const held = new Map<string, { holder: string; until: number }>();
    const handled = new Map<string, number>(); // body → times acked
    const violations: string[] = [];

    const hold = (d: Delivery) => {
      const other = held.get(d.id);
      // A lease that ran out is no longer held: only a live holder makes this a double delivery.
      if (other !== undefined && other.until > Date.now())
        violations.push(`${d.id} held by ${other.holder} and ${d.holder}`);
      held.set(d.id, { holder: d.holder, until: d.leaseUntil ?? Number.POSITIVE_INFINITY });
    };
    // Settle: ack most, nack some, let some leases expire (then a late ack must fail and not count).
    const settle = async (d: Delivery) => {
      const roll = random();
      if (roll < 0.1) {
        held.delete(d.id);
        await vh.nack(d);
      } else if (roll < 0.13 && d.leaseUntil !== undefined) {
        await sleep(Math.max(0, d.leaseUntil - Date.now()) + 15); // lease runs out: the late ack must fail
        await vh.ack(d).then(
          () => violations.push(`late ack of ${d.id} by ${d.holder} succeeded`),
          () => undefined,
        );
      } else {
        held.delete(d.id);
        await vh.ack(d).then(
          () => handled.set(text(d.message.body), (handled.get(text(d.message.body)) ?? 0) + 1),
          () => undefined,
        );
      }
    };

    const pullers = Array.from({ length: 4 }, async () => {
      for (;;) {
        const batch = await vh.receive('work', {
          max: 1 + Math.floor(random() * 8),
          waitMs: 100,
          leaseMs: 40,
        });
        if (batch.length === 0 && handled.size >= total) return;
        batch.forEach(hold);
        await Promise.all(batch.map(settle));
      }
    });
    for (let c = 0; c < 3; c++) {
      vh.consume(
        'work',
        (d) => {
          hold(d);
          void settle(d);
        },
        { prefetch: 1 + c * 5 },
      );
    }
    for (let i = 0; i < total; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => vh.send('work', { body: String(i + j) })));
    }
    const deadline = Date.now() + 15_000;
    while (handled.size < total && Date.now() < deadline) await sleep(20);
    await Promise.all(pullers);
    expect(violations).toEqual([]);
    expect(handled.size).toBe(total);
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    expect(await vh.count('work')).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 });
  });
});
