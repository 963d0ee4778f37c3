import 'reflect-metadata';
import {
  type CallHandler,
  type CanActivate,
  Catch,
  Controller,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  ValidationPipe,
  type ExceptionFilter,
  type Type,
} from '@nestjs/common';
import { Payload, RpcException } from '@nestjs/microservices';
import { IsInt, IsString, Min } from 'class-validator';
import { map, throwError, type Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Broadcast,
  ConveyorContext,
  NonRetryableError,
  OneWay,
  QueueNotFoundError,
  RemoteHandlerError,
  Request as ConveyorRequest,
  RequestTimeoutError,
  type ConveyorConnectionOptions,
} from '../src/index.js';
import { Ctx } from '@nestjs/microservices';
import { startApp, uniquePrefix, waitFor, type RunningApp } from './helpers/apps.js';

export interface ModeUnderTest {
  name: string;
  connection: () => ConveyorConnectionOptions;
  /** Publishes raw bytes to a queue with a plain amqplib client. */
  publishRaw: (queue: string, body: Buffer, contentType?: string) => Promise<void>;
}

class CreateOrder {
  @IsString() item!: string;
  @IsInt() @Min(1) quantity!: number;
}

class TeapotError extends Error {}

@Catch(TeapotError)
class TeapotFilter implements ExceptionFilter {
  catch(): Observable<never> {
    return throwError(() => new RpcException('mapped by filter'));
  }
}

@Injectable()
class HeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const ctx = context.switchToRpc().getContext<ConveyorContext>();
    return ctx.headers['x-allowed'] === 'yes';
  }
}

@Injectable()
class StampInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((value: unknown) => ({ value, intercepted: true })));
  }
}

/** What handlers saw, per test. */
export class Seen {
  calls: Record<string, unknown[]> = {};
  add(key: string, value: unknown): void {
    (this.calls[key] ??= []).push(value);
  }
  count(key: string): number {
    return this.calls[key]?.length ?? 0;
  }
}

function controllers(p: string, seen: Seen): Type[] {
  @Controller()
  class Handlers {
    @OneWay(`${p}.work`)
    work(@Payload() data: unknown, @Ctx() ctx: ConveyorContext): void {
      seen.add('work', {
        data,
        traceparent: ctx.traceparent,
        deliveryCount: ctx.deliveryCount,
        header: ctx.headers['x-k'],
        persistent: ctx.properties.persistent,
      });
    }

    @OneWay(`${p}.poison`, { retry: { maxAttempts: 3, backoffMs: 10 } })
    poison(@Payload() data: unknown): void {
      seen.add('poison', data);
      throw new Error('cannot digest');
    }

    @OneWay(`${p}.flaky`, { retry: { maxAttempts: 5, backoffMs: 10 } })
    flaky(@Payload() data: unknown): void {
      seen.add('flaky', data);
      if (seen.count('flaky') < 3) throw new Error('transient');
    }

    @OneWay(`${p}.fatal`)
    fatal(): void {
      seen.add('fatal', 1);
      throw new NonRetryableError('order is unknown');
    }

    @OneWay(`${p}.orders`)
    @UsePipes(new ValidationPipe())
    order(@Payload() order: CreateOrder): void {
      seen.add('orders', order);
    }

    @OneWay(`${p}.guarded`)
    @UseGuards(HeaderGuard)
    guarded(@Payload() data: unknown): void {
      seen.add('guarded', data);
    }

    @OneWay(`${p}.manual`, { autoAck: false })
    async manual(@Payload() data: { decision: string }, @Ctx() ctx: ConveyorContext): Promise<void> {
      seen.add('manual', data);
      if (data.decision === 'dead') await ctx.deadLetter('rejected by hand');
      else await ctx.ack();
    }

    @OneWay(`${p}.slow`, { concurrency: 2 })
    async slow(@Payload() n: number): Promise<void> {
      seen.add('slow-start', n);
      await new Promise((r) => setTimeout(r, 300));
      seen.add('slow', n);
    }

    @OneWay(`${p}.raw`)
    raw(@Payload() data: unknown): void {
      seen.add('raw', data);
    }

    @ConveyorRequest(`${p}.price`)
    price(@Payload() data: { item: string }, @Ctx() ctx: ConveyorContext): { item: string; price: number } {
      seen.add('price', data);
      seen.add('price-persistent', ctx.properties.persistent);
      return { item: data.item, price: 42 };
    }

    @ConveyorRequest(`${p}.lazy`)
    async lazy(@Payload() data: { item: string }): Promise<{ item: string }> {
      seen.add('lazy', data);
      await new Promise((r) => setTimeout(r, 500));
      return { item: data.item };
    }

    @ConveyorRequest(`${p}.failing`)
    failing(): never {
      throw new NonRetryableError('no such item');
    }

    @ConveyorRequest(`${p}.validated`)
    @UsePipes(new ValidationPipe())
    validated(@Payload() order: CreateOrder): number {
      return order.quantity;
    }

    @ConveyorRequest(`${p}.stamped`)
    @UseInterceptors(StampInterceptor)
    stamped(): number {
      return 7;
    }

    @ConveyorRequest(`${p}.teapot`)
    @UseFilters(TeapotFilter)
    teapot(): never {
      throw new TeapotError('short and stout');
    }

    @Broadcast(`${p}.order.created`)
    created(@Payload() data: unknown, @Ctx() ctx: ConveyorContext): void {
      seen.add(`created:${ctx.queue}`, data);
    }

    @Broadcast(`${p}.order.*`, { perInstance: true })
    anyOrder(@Payload() data: unknown, @Ctx() ctx: ConveyorContext): void {
      seen.add(`any:${ctx.queue}`, data);
    }
  }
  return [Handlers];
}

export function patternSuite(mode: ModeUnderTest): void {
  describe(`@conveyor/nestjs patterns (${mode.name})`, () => {
    const running: RunningApp[] = [];
    afterEach(async () => {
      for (const app of running.splice(0).reverse()) await app.close().catch(() => undefined);
    });

    async function start(p: string, seen: Seen, appName = 'app'): Promise<RunningApp> {
      const app = await startApp(controllers(p, seen), mode.connection(), {
        appName,
        shutdownTimeoutMs: 2_000,
      });
      running.push(app);
      return app;
    }

    it('@OneWay: handled, acked, with headers, traceparent and delivery count in the context', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      const { client } = await start(p, seen);
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      await client.enqueue(`${p}.work`, { n: 1 }, { traceparent, headers: { 'x-k': 'v' } });
      await waitFor(() => seen.count('work') === 1);
      expect(seen.calls['work']).toEqual([
        { data: { n: 1 }, traceparent, deliveryCount: 1, header: 'v', persistent: true },
      ]);
      await waitFor(async () => (await client.count(`${p}.work`)).ready === 0);
      expect((await client.count(`${p}.work`)).ready).toBe(0);
    });

    it('emit(queue) sends one-way through the ClientProxy API', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      const { client } = await start(p, seen);
      await new Promise<void>((resolve, reject) =>
        client.emit(`${p}.work`, { via: 'emit' }).subscribe({ complete: resolve, error: reject }),
      );
      await waitFor(() => seen.count('work') === 1);
    });

    it('a transient failure is retried with backoff and then succeeds', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      const { client } = await start(p, seen);
      await client.enqueue(`${p}.flaky`, { n: 1 });
      await waitFor(() => seen.count('flaky') === 3);
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.count('flaky')).toBe(3);
      expect((await client.receive(`${p}.flaky.dlq`)).length).toBe(0);
    });

    it('a poison message ends in the DLQ with the error as reason after maxAttempts', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      const { client } = await start(p, seen);
      await client.enqueue(`${p}.poison`, { bad: true });
      const dead = await waitForDeadLetter(client, `${p}.poison.dlq`);
      expect(seen.count('poison')).toBe(3);
      expect(dead.payload).toEqual({ bad: true });
      expect(dead.deadLetterReason).toContain('Error: cannot digest');
      expect(dead.deadLetterReason).toContain('after 3 attempts');
      await dead.ack();
    });

    it('a NonRetryableError dead-letters at once', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      const { client } = await start(p, seen);
      await client.enqueue(`${p}.fatal`, {});
      const dead = await waitForDeadLetter(client, `${p}.fatal.dlq`);
      expect(seen.count('fatal')).toBe(1);
      expect(dead.deadLetterReason).toBe('NonRetryableError: order is unknown');
      await dead.ack();
    });

    it('a payload failing ValidationPipe is dead-lettered at once with the validation messages', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      const { client } = await start(p, seen);
      await client.enqueue(`${p}.orders`, { item: 'tea', quantity: 2 });
      await client.enqueue(`${p}.orders`, { item: 42, quantity: 0 });
      const dead = await waitForDeadLetter(client, `${p}.orders.dlq`);
      expect(seen.calls['orders']).toEqual([{ item: 'tea', quantity: 2 }]);
      expect(dead.payload).toEqual({ item: 42, quantity: 0 });
      expect(dead.deadLetterReason).toContain('item must be a string');
      expect(dead.deadLetterReason).toContain('quantity must not be less than 1');
      expect(dead.deliveryCount).toBeGreaterThanOrEqual(1);
      await dead.ack();
    });

    it('a guard that refuses dead-letters (Forbidden is permanent); an allowed message passes', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      const { client } = await start(p, seen);
      await client.enqueue(`${p}.guarded`, 'denied');
      await client.enqueue(`${p}.guarded`, 'allowed', { headers: { 'x-allowed': 'yes' } });
      const dead = await waitForDeadLetter(client, `${p}.guarded.dlq`);
      expect(dead.payload).toBe('denied');
      expect(dead.deadLetterReason).toContain('Forbidden');
      await waitFor(() => seen.count('guarded') === 1);
      expect(seen.calls['guarded']).toEqual(['allowed']);
      await dead.ack();
    });

    it('manual mode: the handler acks or dead-letters through @Ctx()', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      const { client } = await start(p, seen);
      await client.enqueue(`${p}.manual`, { decision: 'keep' });
      await client.enqueue(`${p}.manual`, { decision: 'dead' });
      const dead = await waitForDeadLetter(client, `${p}.manual.dlq`);
      expect(dead.deadLetterReason).toBe('rejected by hand');
      expect(seen.count('manual')).toBe(2);
      await waitFor(async () => (await client.count(`${p}.manual`)).ready === 0);
      await dead.ack();
    });

    it('@Request: reply with the correlation id; send() works as a ClientProxy', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      const { client } = await start(p, seen);
      await expect(client.request(`${p}.price`, { item: 'tea' })).resolves.toEqual({
        item: 'tea',
        price: 42,
      });
      const viaSend = await new Promise((resolve, reject) =>
        client.send(`${p}.price`, { item: 'cake' }).subscribe({ next: resolve, error: reject }),
      );
      expect(viaSend).toEqual({ item: 'cake', price: 42 });
      // A request outlives no broker restart usefully (its reply address dies with the caller's
      // connection): not written to disk unless asked.
      expect(seen.calls['price-persistent']).toEqual([false, false]);
      await client.request(`${p}.price`, { item: 'jam' }, { persistent: true });
      expect(seen.calls['price-persistent']).toEqual([false, false, true]);
    });

    it('@Request: a thrown error comes back as a typed RemoteHandlerError', async () => {
      const p = uniquePrefix();
      const { client } = await start(p, new Seen());
      const err = await client.request(`${p}.failing`, {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteHandlerError);
      expect((err as RemoteHandlerError).remoteName).toBe('NonRetryableError');
      expect((err as RemoteHandlerError).message).toContain('no such item');
      const invalid = await client
        .request(`${p}.validated`, { item: 'x', quantity: 'many' })
        .catch((e: unknown) => e);
      expect(invalid).toBeInstanceOf(RemoteHandlerError);
      expect((invalid as RemoteHandlerError).status).toBe(400);
      expect((invalid as RemoteHandlerError).message).toContain('quantity must be an integer number');
    });

    it('interceptors and exception filters apply to Conveyor handlers', async () => {
      const p = uniquePrefix();
      const { client } = await start(p, new Seen());
      await expect(client.request(`${p}.stamped`, {})).resolves.toEqual({ value: 7, intercepted: true });
      const err = await client.request(`${p}.teapot`, {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteHandlerError);
      expect((err as RemoteHandlerError).message).toContain('mapped by filter');
    });

    it('@Request: resends after a timeout run the handler once and get its reply', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      const { client } = await start(p, seen);
      const reply = await client.request(`${p}.lazy`, { item: 'slow tea' }, { timeout: 200, retries: 4 });
      expect(reply).toEqual({ item: 'slow tea' });
      await new Promise((r) => setTimeout(r, 700));
      expect(seen.count('lazy')).toBe(1);
    });

    it('@Request: no reply in time fails with a clear RequestTimeoutError', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      const { client } = await start(p, seen);
      const err = await client
        .request(`${p}.lazy`, { item: 'x' }, { timeout: 100, retries: 1 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RequestTimeoutError);
      expect((err as RequestTimeoutError).attempts).toBe(2);
      expect((err as Error).message).toMatch(/no reply to request .* after 2 attempt\(s\) of 100 ms/);
      // [issue 14, item 6] the message says where the request went and whether anyone listens there.
      expect((err as Error).message).toContain(`sent to queue '${p}.lazy' (1 consumer)`);
    });

    it('[issue 14, item 4] a send to a queue nobody declared fails with QueueNotFoundError; a broadcast nobody hears succeeds', async () => {
      const p = uniquePrefix();
      const { client } = await start(p, new Seen());
      await expect(client.enqueue(`${p}.nobody-declared`, { x: 1 })).rejects.toBeInstanceOf(
        QueueNotFoundError,
      );
      await expect(
        client.request(`${p}.nobody-declared`, { x: 1 }, { timeout: 2_000, retries: 0 }),
      ).rejects.toBeInstanceOf(QueueNotFoundError);
      await expect(client.broadcast(`${p}.nobody.listens`, { x: 1 })).resolves.toBeUndefined();
    });

    it('@Broadcast: one copy per service, a copy per instance with perInstance', async () => {
      const p = uniquePrefix();
      const a = new Seen();
      const b = new Seen();
      const c = new Seen();
      const first = await start(p, a, 'billing');
      await start(p, b, 'shipping');
      await start(p, c, 'shipping'); // a second instance of the same service
      await first.client.broadcast(`${p}.order.created`, { id: 1 });
      await waitFor(() => a.count(`created:billing.${p}.order.created`) === 1);
      await waitFor(
        () =>
          b.count(`created:shipping.${p}.order.created`) + c.count(`created:shipping.${p}.order.created`) ===
          1,
      );
      const perInstance = [a, b, c].map(
        (s) => Object.keys(s.calls).filter((k) => k.startsWith('any:')).length,
      );
      await waitFor(() => [a, b, c].every((s) => Object.keys(s.calls).some((k) => k.startsWith('any:'))));
      expect(perInstance.length).toBe(3);
      await new Promise((r) => setTimeout(r, 100));
      expect(
        b.count(`created:shipping.${p}.order.created`) + c.count(`created:shipping.${p}.order.created`),
      ).toBe(1);
      // emit({ topic }) is the ClientProxy way to broadcast.
      await new Promise<void>((resolve, reject) =>
        first.client
          .emit({ topic: `${p}.order.created` }, { id: 2 })
          .subscribe({ complete: resolve, error: reject }),
      );
      await waitFor(() => a.count(`created:billing.${p}.order.created`) === 2);
    });

    it('graceful shutdown lets in-flight handlers finish and loses nothing', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      const first = await start(p, seen);
      for (let n = 0; n < 6; n++) await first.client.enqueue(`${p}.slow`, n);
      await waitFor(() => seen.count('slow-start') >= 2);
      await first.server.close();
      const finished = seen.count('slow');
      expect(finished).toBeGreaterThanOrEqual(2);
      // Those that started finished; the rest is still queued for the next instance.
      expect(seen.count('slow-start')).toBe(finished);
      const second = new Seen();
      await start(p, second);
      await waitFor(() => seen.count('slow') + second.count('slow') >= 6, 10_000);
      const all = [...(seen.calls['slow'] ?? []), ...(second.calls['slow'] ?? [])].map(Number).sort();
      expect(all).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it('a message published by a plain AMQP client (no envelope) reaches @OneWay', async () => {
      const p = uniquePrefix();
      const seen = new Seen();
      await start(p, seen);
      await mode.publishRaw(`${p}.raw`, Buffer.from('{"plain":true}'));
      await mode.publishRaw(`${p}.raw`, Buffer.from([0xde, 0xad, 0xbe, 0xef]), 'application/octet-stream');
      await mode.publishRaw(`${p}.raw`, Buffer.from('hello'), 'text/plain');
      await waitFor(() => seen.count('raw') === 3);
      expect(seen.calls['raw']).toEqual([{ plain: true }, Buffer.from([0xde, 0xad, 0xbe, 0xef]), 'hello']);
    });
  });
}

async function waitForDeadLetter(
  client: RunningApp['client'],
  queue: string,
): Promise<Awaited<ReturnType<RunningApp['client']['receive']>>[number]> {
  const deadline = Date.now() + 8_000;
  while (Date.now() < deadline) {
    const [dead] = await client.receive(queue, { wait: 200 });
    if (dead) return dead;
  }
  throw new Error(`nothing arrived in ${queue}`);
}
