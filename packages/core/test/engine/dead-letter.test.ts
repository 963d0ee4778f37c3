import { describe, expect, it } from 'vitest';
import { deadLetterToQueue, type Headers } from '../../src/index.js';
import { advance, fakeClock, openBroker, sleep, text } from './broker-fixture.js';

function death(headers: Headers | undefined): Headers {
  const list = headers?.['x-death'];
  expect(Array.isArray(list)).toBe(true);
  return (list as Headers[])[0]!;
}

describe('poison messages', () => {
  it('a message that used its last delivery goes to the dead-letter queue with reason, queue, time and count', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('dlq');
    await vh.declareQueue('work', { maxDeliveries: 3, deadLetter: deadLetterToQueue('dlq') });
    await vh.send('work', { body: 'poison' });
    await vh.send('work', { body: 'fine' });
    for (let i = 0; i < 3; i++) {
      const [d] = await vh.receive('work');
      expect(text(d!.message.body)).toBe('poison');
      await vh.nack(d!);
    }
    // The third nack used up the limit: the poison message moved, the next one is served.
    const [next] = await vh.receive('work');
    expect(text(next!.message.body)).toBe('fine');
    const [dead] = await vh.receive('dlq');
    expect(text(dead!.message.body)).toBe('poison');
    const headers = dead!.message.properties.headers;
    expect(death(headers)).toMatchObject({
      reason: 'delivery_limit',
      queue: 'work',
      count: 1,
      'delivery-count': 3,
    });
    expect(death(headers)['time']).toBeInstanceOf(Date);
    expect(headers?.['x-first-death-reason']).toBe('delivery_limit');
    expect(headers?.['x-first-death-queue']).toBe('work');
    expect((await vh.count('work')).deadLettered).toBe(1);
  });

  it('a message whose holders keep vanishing is dead-lettered at the delivery past the limit', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('dlq');
    await vh.declareQueue('work', { maxDeliveries: 2, deadLetter: deadLetterToQueue('dlq') });
    await vh.send('work', { body: 'crasher' });
    await vh.send('work', { body: 'fine' });
    for (let i = 0; i < 2; i++) {
      const [d] = await vh.receive('work', { leaseMs: 30_000 }); // the receiver dies: its lease runs out
      expect(text(d!.message.body)).toBe('crasher');
      await advance(30_001);
    }
    const [next] = await vh.receive('work');
    expect(text(next!.message.body)).toBe('fine');
    const [dead] = await vh.receive('dlq');
    expect(death(dead!.message.properties.headers)).toMatchObject({
      reason: 'delivery_limit',
      'delivery-count': 3,
    });
  });

  it('a receiver can dead-letter explicitly (reason rejected, with detail)', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('dlq');
    await vh.declareQueue('work', { deadLetter: deadLetterToQueue('dlq') });
    await vh.send('work', { body: 'bad' });
    const [d] = await vh.receive('work');
    await vh.deadLetter(d!, 'TypeError: nope');
    const [dead] = await vh.receive('dlq');
    expect(death(dead!.message.properties.headers)).toMatchObject({
      reason: 'rejected',
      queue: 'work',
      detail: 'TypeError: nope',
    });
  });

  it('nack without requeue dead-letters, or drops when there is no target', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('dlq');
    await vh.declareQueue('with', { deadLetter: deadLetterToQueue('dlq') });
    await vh.declareQueue('without');
    await vh.send('with', { body: 'a' });
    await vh.send('without', { body: 'b' });
    await vh.nack(await vh.receive('with'), { requeue: false });
    await vh.nack(await vh.receive('without'), { requeue: false });
    expect((await vh.count('dlq')).ready).toBe(1);
    expect(await vh.count('without')).toMatchObject({ ready: 0, inFlight: 0 });
  });

  it('dead-letters through an exchange with a routing key', async () => {
    const { vh } = await openBroker();
    await vh.declareExchange('dlx', 'direct', { durable: true });
    await vh.declareQueue('dead-a');
    await vh.bindQueue('dead-a', 'dlx', 'failed');
    await vh.declareQueue('work', { deadLetter: { exchange: 'dlx', routingKey: 'failed' } });
    await vh.send('work', { body: 'x' });
    await vh.nack(await vh.receive('work'), { requeue: false });
    const [dead] = await vh.receive('dead-a');
    expect(dead!.message.routingKey).toBe('failed');
  });

  it('redrive moves dead-lettered messages back to their queue', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('dlq');
    await vh.declareQueue('work', { deadLetter: deadLetterToQueue('dlq') });
    for (const b of ['a', 'b']) await vh.send('work', { body: b });
    await vh.nack(await vh.receive('work', { max: 2 }), { requeue: false });
    expect((await vh.count('dlq')).ready).toBe(2);
    expect(await vh.redrive('dlq')).toBe(2);
    expect((await vh.count('dlq')).ready).toBe(0);
    const back = await vh.receive('work', { max: 2 });
    expect(back.map((d) => text(d.message.body))).toEqual(['a', 'b']);
    expect(back[0]!.deliveryCount).toBe(1);
  });
});

describe('message lifetime (TTL)', () => {
  it('an expired message is never delivered and is dead-lettered with reason expired', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('dlq');
    await vh.declareQueue('q', { deadLetter: deadLetterToQueue('dlq') });
    await vh.send('q', { body: 'short', properties: { expiration: 20_000 } });
    await vh.send('q', { body: 'long' });
    await advance(20_001);
    const got = await vh.receive('q', { max: 5 });
    expect(got.map((d) => text(d.message.body))).toEqual(['long']);
    const [dead] = await vh.receive('dlq');
    expect(text(dead!.message.body)).toBe('short');
    expect(death(dead!.message.properties.headers)).toMatchObject({ reason: 'expired', queue: 'q' });
    expect(dead!.message.properties.expiration).toBeUndefined();
    expect(dead!.message.properties.headers?.['original-expiration']).toBe('20000');
  });

  it('queue TTL expires messages even when nobody receives (counts drop)', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('q', { messageTtlMs: 60_000 });
    for (let i = 0; i < 5; i++) await vh.send('q', { body: String(i) });
    expect((await vh.count('q')).ready).toBe(5);
    await advance(59_000);
    expect((await vh.count('q')).ready).toBe(5);
    await advance(2_000);
    expect((await vh.count('q')).ready).toBe(0);
  });

  it('an expired message in a consumer-less queue is dropped when there is no target', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('q');
    await vh.send('q', { body: 'x', properties: { expiration: 10_000 } });
    await advance(10_001);
    expect(await vh.receive('q')).toEqual([]);
  });
});

describe('max length', () => {
  it('drop-head dead-letters the oldest with reason maxlen', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('dlq');
    await vh.declareQueue('q', { maxLength: 2, deadLetter: deadLetterToQueue('dlq') });
    for (const b of ['1', '2', '3']) await vh.send('q', { body: b });
    expect((await vh.receive('q', { max: 5 })).map((d) => text(d.message.body))).toEqual(['2', '3']);
    const [dead] = await vh.receive('dlq');
    expect(text(dead!.message.body)).toBe('1');
    expect(death(dead!.message.properties.headers)).toMatchObject({ reason: 'maxlen' });
  });

  it('reject-publish refuses new sends', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q', { maxLength: 2, overflow: 'reject-publish' });
    const results = [];
    for (const b of ['1', '2', '3']) results.push(await vh.send('q', { body: b }));
    expect(results.map((r) => r.rejected)).toEqual([[], [], ['q']]);
    expect((await vh.count('q')).ready).toBe(2);
  });

  it('reject-publish-dlx refuses and dead-letters the new send', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('dlq');
    await vh.declareQueue('q', {
      maxLength: 1,
      overflow: 'reject-publish-dlx',
      deadLetter: deadLetterToQueue('dlq'),
    });
    await vh.send('q', { body: '1' });
    const r = await vh.send('q', { body: '2' });
    expect(r.rejected).toEqual(['q']);
    const [dead] = await vh.receive('dlq');
    expect(text(dead!.message.body)).toBe('2');
  });

  it('max bytes counts body bytes', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('q', { maxBytes: 10, overflow: 'reject-publish' });
    expect((await vh.send('q', { body: '123456' })).rejected).toEqual([]);
    expect((await vh.send('q', { body: '123456' })).rejected).toEqual(['q']);
  });
});

describe('explicit dead-lettering by a push consumer', () => {
  it("frees the consumer's prefetch window, so the next message comes", async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('dlq');
    await vh.declareQueue('work', { deadLetter: deadLetterToQueue('dlq') });
    for (const b of ['bad', 'next']) await vh.send('work', { body: b });
    const got: string[] = [];
    vh.consume(
      'work',
      (d) => {
        got.push(text(d.message.body));
        if (got.length === 1) void vh.deadLetter(d, 'bad input');
      },
      { prefetch: 1 },
    );
    await sleep(30);
    expect(got).toEqual(['bad', 'next']);
    expect((await vh.count('dlq')).ready).toBe(1);
  });
});
