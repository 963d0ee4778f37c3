import { describe, expect, it } from 'vitest';
import { MessageGoneError } from '../../src/index.js';
import { advance, fakeClock, openBroker, text } from './broker-fixture.js';

describe('peek and take', () => {
  it('peek shows ready messages without leasing them', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    for (const b of ['a', 'b', 'c']) await vh.send('q', { body: b });
    const peeked = await vh.peek('q', 2);
    expect(peeked.map((m) => text(m.message.body))).toEqual(['a', 'b']);
    expect(peeked.every((m) => m.state === 'ready')).toBe(true);
    expect(await vh.count('q')).toMatchObject({ ready: 3, inFlight: 0 });
  });

  it('peek can include in-flight and delayed messages, marked as such', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    await vh.send('q', { body: 'held' });
    await vh.send('q', { body: 'ready' });
    await vh.send('q', { body: 'later', delayMs: 10_000 });
    await vh.receive('q');
    expect((await vh.peek('q', 10)).map((m) => text(m.message.body))).toEqual(['ready']);
    const all = await vh.peek('q', 10, { includeInFlight: true, includeDelayed: true });
    expect(all.map((m) => [text(m.message.body), m.state]).sort()).toEqual([
      ['held', 'in-flight'],
      ['later', 'delayed'],
      ['ready', 'ready'],
    ]);
  });

  it('take leases the peeked message by id', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q');
    for (const b of ['a', 'b', 'c']) await vh.send('q', { body: b });
    const [, second] = await vh.peek('q', 2);
    const taken = await vh.take('q', second!.id, { leaseMs: 5_000 });
    expect(text(taken.message.body)).toBe('b');
    expect(taken.deliveryCount).toBe(1);
    expect((await vh.receive('q', { max: 5 })).map((d) => text(d.message.body))).toEqual(['a', 'c']);
    await vh.ack(taken);
  });

  it('take tells the caller when the message is gone (taken, acked or expired)', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('q');
    await vh.send('q', { body: 'a' });
    await vh.send('q', { body: 'short', properties: { expiration: 20_000 } });
    const [a, short] = await vh.peek('q', 2);
    const [d] = await vh.receive('q');
    const err = await vh.take('q', a!.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageGoneError);
    expect((err as MessageGoneError).code).toBe('MESSAGE_GONE');
    await vh.ack(d!);
    await expect(vh.take('q', a!.id)).rejects.toBeInstanceOf(MessageGoneError);
    await advance(20_001);
    await expect(vh.take('q', short!.id)).rejects.toBeInstanceOf(MessageGoneError);
  });
});
