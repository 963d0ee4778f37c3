import { describe, expect, it } from 'vitest';
import { Requester, RequestTimeoutError, Responder, type Delivery } from '../../src/index.js';
import { advance, fakeClock, openBroker, sleep, text } from './broker-fixture.js';

describe('request/response', () => {
  it('a request gets its reply through a private reply queue', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('rpc');
    Responder.start(vh, 'rpc', (req) => ({ body: `echo:${text(req.message.body)}` }));
    const requester = await Requester.create(vh);
    const reply = await requester.request('rpc', { body: 'hi' }, { timeoutMs: 1_000 });
    expect(text(reply.message.body)).toBe('echo:hi');
    const replyQueue = requester.replyQueue;
    expect(vh.hasQueue(replyQueue)).toBe(true);
    await requester.close();
    expect(vh.hasQueue(replyQueue)).toBe(false); // temporary reply queue is cleaned up
  });

  it('times out with a typed error after its resends', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('nobody');
    const requester = await Requester.create(vh);
    let err: unknown;
    const request = requester
      .request('nobody', { body: 'x' }, { timeoutMs: 30_000, retries: 2 })
      .catch((e: unknown) => (err = e));
    await advance(89_000);
    expect(err).toBeUndefined(); // three attempts of 30 s each: not yet
    await advance(1_001);
    await request;
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect((err as RequestTimeoutError).attempts).toBe(3);
    // Each resend is a new message with the same correlation id.
    const sent = await vh.receive('nobody', { max: 10 });
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((d) => d.message.properties.correlationId)).size).toBe(1);
    expect(new Set(sent.map((d) => d.message.properties.messageId)).size).toBe(3);
    await requester.close();
  });

  it('a resend while the original is still running waits for it: the handler runs once', async () => {
    const { vh } = await openBroker(fakeClock());
    await vh.declareQueue('slow');
    let runs = 0;
    Responder.start(vh, 'slow', async () => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      return { body: 'done' };
    });
    const requester = await Requester.create(vh);
    const reply = requester.request('slow', { body: 'x' }, { timeoutMs: 500, retries: 3 });
    await advance(1_201); // two resends go out while the first run is still going
    expect(text((await reply).message.body)).toBe('done');
    await advance(1_500);
    expect(runs).toBe(1);
    await requester.close();
  });

  it('a resend after a lost reply gets the remembered reply without running the handler again', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('rpc');
    await vh.declareQueue('replies');
    let runs = 0;
    Responder.start(vh, 'rpc', () => ({ body: `result-${++runs}` }));
    const request = { body: 'x', properties: { correlationId: 'c-1', replyTo: 'replies' } };
    await vh.send('rpc', request);
    const [lost] = await vh.receive('replies', { waitMs: 1_000 });
    await vh.ack(lost!); // the requester never saw it
    await vh.send('rpc', { ...request, properties: { ...request.properties, messageId: 'resend' } });
    const [again] = await vh.receive('replies', { waitMs: 1_000 });
    expect(text(again!.message.body)).toBe('result-1');
    expect(again!.message.properties.correlationId).toBe('c-1');
    expect(runs).toBe(1);
  });

  it('late and duplicate replies are dropped', async () => {
    const { vh } = await openBroker();
    await vh.declareQueue('rpc');
    const replies: Delivery[] = [];
    vh.consume('rpc', (d) => {
      replies.push(d);
      const to = d.message.properties.replyTo!;
      const properties = { correlationId: d.message.properties.correlationId! };
      void vh.publish('', to, { body: 'one', properties });
      void vh.publish('', to, { body: 'two', properties });
      void vh.ack(d);
    });
    const requester = await Requester.create(vh);
    const reply = await requester.request('rpc', { body: 'x' }, { timeoutMs: 500 });
    expect(text(reply.message.body)).toBe('one');
    await sleep(20);
    expect((await vh.count(requester.replyQueue)).ready).toBe(0);
    await requester.close();
  });
});
