import { describe, expect, it } from 'vitest';
import { ConveyorClient, UnsupportedOperationError, type ConveyorConnectionOptions } from '../src/index.js';
import { uniquePrefix } from './helpers/apps.js';

export interface ReceiverMode {
  name: string;
  connection: () => ConveyorConnectionOptions;
  /** Declares a plain durable queue. */
  declare: (queue: string) => Promise<void>;
  /** Whether peek, take and lease renewal are available. */
  full: boolean;
}

export function receiverSuite(mode: ReceiverMode): void {
  describe(`ConveyorClient receiver operations (${mode.name})`, () => {
    async function client(): Promise<ConveyorClient> {
      const c = new ConveyorClient({ connection: mode.connection() });
      await c.connect();
      return c;
    }

    it('count and receive({ max, wait }) with ack and nack', async () => {
      const c = await client();
      const q = `${uniquePrefix()}.inbox`;
      await mode.declare(q);
      for (const n of [1, 2, 3]) await c.enqueue(q, { n });
      await expect(c.count(q)).resolves.toMatchObject({ ready: 3 });
      const batch = await c.receive<{ n: number }>(q, { max: 2 });
      expect(batch.map((m) => m.payload.n)).toEqual([1, 2]);
      await batch[0]!.ack();
      await batch[1]!.nack();
      const again = await c.receive<{ n: number }>(q, { max: 5, wait: 100 });
      expect(again.map((m) => m.payload.n).sort()).toEqual([2, 3]);
      for (const m of again) await m.ack();
      // A blocking receive on an empty queue waits, then answers empty.
      const started = Date.now();
      await expect(c.receive(q, { wait: 200 })).resolves.toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      await c.close();
    });

    if (mode.full) {
      it('peek, take by id, renewLease', async () => {
        const c = await client();
        const q = `${uniquePrefix()}.inbox`;
        await mode.declare(q);
        await c.enqueue(q, 'first');
        await c.enqueue(q, 'second');
        const peeked = await c.peek<string>(q, 5);
        expect(peeked.map((p) => p.payload)).toEqual(['first', 'second']);
        const taken = await c.take<string>(q, peeked[1]!.id, { leaseMs: 500 });
        expect(taken.payload).toBe('second');
        const until = await taken.renewLease(5_000);
        expect(until).toBeGreaterThan(Date.now() + 4_000);
        await taken.ack();
        await expect(c.count(q)).resolves.toMatchObject({ ready: 1 });
        await c.close();
      });
    } else {
      it('peek and take raise UnsupportedOperationError', async () => {
        const c = await client();
        const q = `${uniquePrefix()}.inbox`;
        await mode.declare(q);
        await expect(c.peek(q)).rejects.toBeInstanceOf(UnsupportedOperationError);
        await expect(c.take(q, '1')).rejects.toBeInstanceOf(UnsupportedOperationError);
        await c.enqueue(q, 'x');
        const [m] = await c.receive(q, { wait: 500 });
        await expect(m!.renewLease()).rejects.toBeInstanceOf(UnsupportedOperationError);
        await m!.ack();
        await c.close();
      });
    }
  });
}
