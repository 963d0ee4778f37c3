import 'reflect-metadata';
import { Controller, Inject, Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Ctx, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { Broker } from '@conveyor/core';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { firstValueFrom, filter } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONVEYOR_TRANSPORT,
  ConveyorClient,
  ConveyorContext,
  ConveyorHealthIndicator,
  ConveyorModule,
  ConveyorServer,
  JsonSerializer,
  OneWay,
  Request,
  type Serializer,
} from '../src/index.js';
import { uniquePrefix, waitFor } from './helpers/apps.js';

let broker: Broker;
beforeAll(async () => {
  broker = await Broker.open();
});
afterAll(async () => {
  await broker.close();
});

describe('ConveyorModule', () => {
  it('forRootAsync takes its options from ConfigService; the client is injectable', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ CONVEYOR_TIMEOUT_MS: '1234' })] }),
        ConveyorModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({
            connection: { broker },
            requestTimeoutMs: Number(config.get<string>('CONVEYOR_TIMEOUT_MS')),
          }),
        }),
      ],
    }).compile();
    const client = moduleRef.get(ConveyorClient);
    expect(client).toBeInstanceOf(ConveyorClient);
    await client.connect();
    expect(client.unwrap<Broker>()).toBe(broker);
    const q = `${uniquePrefix()}.q`;
    await broker.vhost().declareQueue(q);
    await client.enqueue(q, { ok: true });
    await expect(client.count(q)).resolves.toMatchObject({ ready: 1 });
    await moduleRef.close();
  });

  it('forFeature: named clients of their own (another vhost here) beside the root one, each injectable and closed on shutdown', async () => {
    await broker.addVhost('audit');
    @Injectable()
    class Auditor {
      constructor(
        readonly main: ConveyorClient,
        @Inject('AUDIT') readonly audit: ConveyorClient,
      ) {}
    }
    @Module({
      imports: [ConveyorModule.forFeature([{ name: 'AUDIT', connection: { broker, vhost: 'audit' } }])],
      providers: [Auditor],
    })
    class AuditModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [ConveyorModule.forRoot({ connection: { broker } }), AuditModule],
    }).compile();
    await moduleRef.init();
    const auditor = moduleRef.get(Auditor);
    expect(auditor.audit).toBeInstanceOf(ConveyorClient);
    expect(auditor.audit).not.toBe(auditor.main);
    const q = `${uniquePrefix()}.audit`;
    await broker.vhost('audit').declareQueue(q);
    await auditor.audit.connect();
    await auditor.audit.enqueue(q, { who: 'x' });
    expect((await broker.vhost('audit').count(q)).ready).toBe(1);
    expect(broker.vhost().hasQueue(q)).toBe(false);
    expect(auditor.audit.unwrap<Broker>()).toBe(broker);
    await moduleRef.close();
    // Closed with the app: its link is gone until something connects it again.
    expect(() => auditor.audit.unwrap()).toThrow(/not connected/);
  });

  it('the health indicator works with @nestjs/terminus: up when connected, down when the broker is gone', async () => {
    @Injectable()
    class Health {
      constructor(
        readonly health: HealthCheckService,
        readonly conveyor: ConveyorHealthIndicator,
      ) {}
    }
    const own = await Broker.open();
    const moduleRef = await Test.createTestingModule({
      imports: [
        TerminusModule.forRoot({ logger: false }),
        ConveyorModule.forRoot({ connection: { broker: own } }),
      ],
      providers: [Health],
    }).compile();
    const { health, conveyor } = moduleRef.get(Health);
    const up = await health.check([() => conveyor.isHealthy('conveyor')]);
    expect(up.status).toBe('ok');
    expect(up.details['conveyor']).toEqual({ status: 'up', mode: 'embedded' });
    await own.close();
    await expect(health.check([() => conveyor.isHealthy('conveyor')])).rejects.toBeDefined();
    await moduleRef.close();
  });
});

describe('ConveyorServer', () => {
  it('status goes connecting → connected → closing → disconnected; unwrap gives the engine', async () => {
    const p = uniquePrefix();
    @Controller()
    class H {
      @OneWay(`${p}.q`)
      handle(@Payload() _d: unknown): void {}
    }
    const moduleRef = await Test.createTestingModule({ controllers: [H] }).compile();
    const server = new ConveyorServer({ appName: 'svc', connection: { broker } });
    const seen: string[] = [];
    server.status.subscribe((s) => seen.push(s));
    const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    await app.listen();
    await firstValueFrom(server.status.pipe(filter((s) => s === 'connected')));
    expect(server.unwrap<Broker>()).toBe(broker);
    expect(broker.vhost().hasQueue(`${p}.q`)).toBe(true);
    expect(broker.vhost().hasQueue(`${p}.q.dlq`)).toBe(true);
    await app.close();
    expect(seen).toEqual(['connecting', 'connected', 'closing', 'disconnected']);
  });

  it('a pull-leased handler keeps its lease renewed while it runs longer than the lease', async () => {
    const p = uniquePrefix();
    const calls: number[] = [];
    @Controller()
    class Slow {
      @OneWay(`${p}.leased`, { leaseMs: 200, concurrency: 1 })
      async handle(@Payload() n: number): Promise<void> {
        calls.push(n);
        await new Promise((r) => setTimeout(r, 700));
      }
    }
    const moduleRef = await Test.createTestingModule({ controllers: [Slow] }).compile();
    const server = new ConveyorServer({ appName: 'svc', connection: { broker } });
    const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    await app.listen();
    const client = new ConveyorClient({ connection: { broker } });
    await client.enqueue(`${p}.leased`, 1);
    await waitFor(
      async () => calls.length === 1 && (await client.count(`${p}.leased`)).inFlight === 0,
      5_000,
    );
    // Without renewal the lease would have lapsed at 200 ms and the message been handed out again.
    expect(calls).toEqual([1]);
    await expect(client.count(`${p}.leased`)).resolves.toMatchObject({ ready: 0, inFlight: 0 });
    await client.close();
    await app.close();
  });
});

describe('ConveyorServer shutdown limit and serializer', () => {
  it('a handler still running at shutdownTimeoutMs has its message given back, not lost', async () => {
    const p = uniquePrefix();
    let started = 0;
    @Controller()
    class Stuck {
      @OneWay(`${p}.stuck`)
      async handle(): Promise<void> {
        started++;
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
    const moduleRef = await Test.createTestingModule({ controllers: [Stuck] }).compile();
    const server = new ConveyorServer({ appName: 'svc', connection: { broker }, shutdownTimeoutMs: 100 });
    const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    await app.listen();
    await broker.vhost().send(`${p}.stuck`, { body: '1' });
    await waitFor(() => started === 1);
    const before = Date.now();
    await app.close();
    expect(Date.now() - before).toBeLessThan(1_500);
    await expect(broker.vhost().count(`${p}.stuck`)).resolves.toMatchObject({ ready: 1, inFlight: 0 });
  });

  it('[issue 14, item 8] the handler of a message handed back at the deadline is told through ctx.signal, and stops', async () => {
    const p = uniquePrefix();
    let finished = 0;
    let stopped: string | undefined;
    @Controller()
    class Long {
      @OneWay(`${p}.long`)
      async handle(@Ctx() ctx: ConveyorContext): Promise<void> {
        for (let step = 0; step < 100; step++) {
          if (ctx.signal.aborted) {
            stopped = String((ctx.signal.reason as Error).message);
            return;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        finished++;
      }
    }
    const moduleRef = await Test.createTestingModule({ controllers: [Long] }).compile();
    const server = new ConveyorServer({ appName: 'svc', connection: { broker }, shutdownTimeoutMs: 100 });
    const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    await app.listen();
    for (let i = 0; i < 5; i++) await broker.vhost().send(`${p}.long`, { body: String(i) });
    await waitFor(() => server.link !== undefined);
    await new Promise((r) => setTimeout(r, 50));
    await app.close();
    await waitFor(() => stopped !== undefined);
    expect(stopped).toBe('handed back: shutdown after 100 ms');
    expect(finished).toBe(0);
    await expect(broker.vhost().count(`${p}.long`)).resolves.toMatchObject({ ready: 5, inFlight: 0 });
  });

  it('a pluggable serializer is used on both sides', async () => {
    const p = uniquePrefix();
    const upper: Serializer = {
      serialize: (value) => ({ body: Buffer.from(String(value).toUpperCase()), contentType: 'text/x-upper' }),
      deserialize: (body) => body.toString().toLowerCase(),
    };
    @Controller()
    class Echo {
      @Request(`${p}.echo`)
      echo(@Payload() text: string): string {
        return `${text}!`;
      }
    }
    const moduleRef = await Test.createTestingModule({ controllers: [Echo] }).compile();
    const server = new ConveyorServer({ appName: 'svc', connection: { broker }, serializer: upper });
    const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    await app.listen();
    const client = new ConveyorClient({ connection: { broker }, serializer: upper });
    await expect(client.request(`${p}.echo`, 'Hello')).resolves.toBe('hello!');
    await client.close();
    await app.close();
  });

  it('JsonSerializer: JSON by default, Buffer passthrough, Nest envelopes unwrapped, text as string', () => {
    const json = new JsonSerializer();
    expect(json.serialize({ a: 1 })).toEqual({
      body: Buffer.from('{"a":1}'),
      contentType: 'application/json',
    });
    expect(json.serialize(Buffer.from([1, 2]))).toEqual({
      body: Buffer.from([1, 2]),
      contentType: 'application/octet-stream',
    });
    expect(json.deserialize(Buffer.from('{"pattern":"x","data":{"b":2},"id":"1"}'), undefined)).toEqual({
      b: 2,
    });
    expect(json.deserialize(Buffer.from('plain'), 'text/plain')).toBe('plain');
    expect(json.deserialize(Buffer.from([0xff]), undefined)).toEqual(Buffer.from([0xff]));
    expect(() => json.deserialize(Buffer.from('{'), 'application/json')).toThrow(SyntaxError);
  });
});

describe('two handlers on one queue', () => {
  it('both get every message (Nest chains event handlers of one pattern)', async () => {
    const p = uniquePrefix();
    const got: string[] = [];
    @Controller()
    class A {
      @OneWay(`${p}.shared`)
      a(@Payload() d: string): void {
        got.push(`a:${d}`);
      }
    }
    @Controller()
    class B {
      @OneWay(`${p}.shared`)
      b(@Payload() d: string): void {
        got.push(`b:${d}`);
      }
    }
    const moduleRef = await Test.createTestingModule({ controllers: [A, B] }).compile();
    const app = moduleRef.createNestMicroservice({
      strategy: new ConveyorServer({ appName: 'svc', connection: { broker } }),
      logger: false,
    });
    await app.listen();
    await broker.vhost().send(`${p}.shared`, { body: '"m"' });
    await waitFor(() => got.length === 2);
    await new Promise((r) => setTimeout(r, 100)); // and no more
    expect(got.sort()).toEqual(['a:m', 'b:m']);
    await app.close();
  });
});

describe('processing hooks', () => {
  it('Nest processing start/end hooks wrap each message (for tracing)', async () => {
    const p = uniquePrefix();
    const events: string[] = [];
    @Controller()
    class H {
      @OneWay(`${p}.traced`)
      handle(): void {
        events.push('handler');
      }
    }
    const moduleRef = await Test.createTestingModule({ controllers: [H] }).compile();
    const server = new ConveyorServer({ appName: 'svc', connection: { broker } });
    server.setOnProcessingStartHook((transportId, context, done) => {
      events.push(
        `start:${String(transportId === CONVEYOR_TRANSPORT)}:${(context as ConveyorContext).queue}`,
      );
      return done();
    });
    server.setOnProcessingEndHook(() => events.push('end'));
    const app = moduleRef.createNestMicroservice({ strategy: server, logger: false });
    await app.listen();
    await broker.vhost().send(`${p}.traced`, { body: '1' });
    await waitFor(() => events.includes('end'));
    expect(events).toEqual([`start:true:${p}.traced`, 'handler', 'end']);
    await app.close();
  });
});
