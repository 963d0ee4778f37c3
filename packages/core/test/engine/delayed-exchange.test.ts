// Delayed exchanges (issue 16, item 5): a delayed publish to an exchange declared `delayed` is
// held whole and routed when its delay is over, with the bindings of that moment; durable across
// a restart; dropped when the exchange went meanwhile.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker, LmdbStore } from '../../src/index.js';
import { openBroker, sleep, text } from './broker-fixture.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function until(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

describe('delayed exchanges', () => {
  it('route a delayed publish when its delay is over; an exchange that is not delayed routes at once', async () => {
    const { vh } = await openBroker();
    await vh.declareExchange('later', 'direct', { delayed: true });
    await vh.declareExchange('plain', 'direct');
    await vh.declareQueue('q1');
    await vh.declareQueue('q2');
    await vh.bindQueue('q2', 'plain', 'k');
    const result = await vh.publish('later', 'k', { body: 'held', delayMs: 150 });
    expect(result.unroutable).toBe(false); // held: its routing is decided later
    await vh.publish('plain', 'k', { body: 'in queue', delayMs: 150 });
    expect(await vh.count('q2')).toMatchObject({ delayed: 1 });
    // Bound after the publish, before the delay is over: it gets the message.
    await vh.bindQueue('q1', 'later', 'k');
    expect(await vh.count('q1')).toMatchObject({ ready: 0, delayed: 0 });
    await until(async () => (await vh.count('q1')).ready === 1);
    const [got] = await vh.receive('q1');
    expect(text(got!.message.body)).toBe('held');
    expect(got!.message.exchange).toBe('later');
    expect(await vh.count('amq.delayed-routing')).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 });
  });

  it('a held persistent message survives a restart and is routed after it', async () => {
    const path = await mkdtemp(join(tmpdir(), 'conveyor-delayed-'));
    dirs.push(path);
    let broker = await Broker.open({ store: new LmdbStore({ path }) });
    let vh = broker.vhost();
    await vh.declareExchange('later', 'topic', { delayed: true, durable: true });
    await vh.declareQueue('jobs');
    await vh.bindQueue('jobs', 'later', 'job.#');
    await vh.publish('later', 'job.mail', { body: 'mail', delayMs: 400, properties: { persistent: true } });
    await broker.close();
    broker = await Broker.open({ store: new LmdbStore({ path }) });
    try {
      vh = broker.vhost();
      expect(await vh.count('jobs')).toMatchObject({ ready: 0 });
      await until(async () => (await vh.count('jobs')).ready === 1);
      const [got] = await vh.receive('jobs');
      expect(text(got!.message.body)).toBe('mail');
    } finally {
      await broker.close();
    }
  });

  it('drops a held message whose exchange was deleted meanwhile, and keeps serving', async () => {
    const { vh } = await openBroker();
    await vh.declareExchange('gone', 'fanout', { delayed: true });
    await vh.declareQueue('q');
    await vh.bindQueue('q', 'gone', '');
    await vh.publish('gone', '', { body: 'x', delayMs: 50 });
    await vh.deleteExchange('gone');
    await sleep(150);
    expect(await vh.count('amq.delayed-routing')).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 });
    expect(await vh.count('q')).toMatchObject({ ready: 0 });
  });
});
