// One NestJS app process of the NestJS benchmark: its handlers and its caller in one process, on one
// transport; prints one JSON line of results. Decorators are applied by hand (plain JavaScript).
//   node bench/nestjs/app.mjs <mode> <url|-> <count> <parallel>
// mode: conveyor-embedded · conveyor-remote · rmq-defaults · rmq-durable
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientProxyFactory,
  Ctx,
  EventPattern,
  MessagePattern,
  Payload,
  Transport,
} from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { ConveyorClient, ConveyorModule, ConveyorServer, OneWay, Request } from '@conveyor/nestjs';

const [mode, url, countArg, parallelArg] = process.argv.slice(2);
const COUNT = Number(countArg);
const PARALLEL = Number(parallelArg);
const tag = `b${process.pid}`;
let handled = 0;
const waiters = [];
function onEvent() {
  handled++;
  for (const w of waiters.splice(0)) w();
}

/** A controller with a request handler and a one-way handler, decorated by hand. */
function controller(requestDecorator, eventDecorator, manualAck = false) {
  // Nest's RMQ transport with noAck: false leaves the ack to the handler.
  const ack = (ctx) => {
    if (manualAck) ctx.getChannelRef().ack(ctx.getMessage());
  };
  class Handlers {
    add(terms, ctx) {
      ack(ctx);
      return terms.a + terms.b;
    }
    event(_data, ctx) {
      ack(ctx);
      onEvent();
    }
  }
  const proto = Handlers.prototype;
  for (const name of ['add', 'event']) {
    Payload()(proto, name, 0);
    Ctx()(proto, name, 1);
  }
  requestDecorator(proto, 'add', Object.getOwnPropertyDescriptor(proto, 'add'));
  eventDecorator(proto, 'event', Object.getOwnPropertyDescriptor(proto, 'event'));
  Controller()(Handlers);
  return Handlers;
}

async function conveyorApp(remote) {
  const connection = remote ? { url, kind: 'conveyor' } : {};
  const Handlers = controller(Request(`${tag}.add`), OneWay(`${tag}.event`));
  class AppModule {}
  Module({ imports: [ConveyorModule.forRoot({ connection })], controllers: [Handlers] })(AppModule);
  const app = await NestFactory.createMicroservice(AppModule, {
    strategy: new ConveyorServer({ appName: 'bench', connection }),
    logger: ['error'],
  });
  await app.listen();
  const client = app.get(ConveyorClient);
  return {
    request: () => client.request(`${tag}.add`, { a: 1, b: 2 }, { timeout: 10_000 }),
    oneWay: () => client.enqueue(`${tag}.event`, { n: 1 }),
    close: () => app.close(),
  };
}

async function rmqApp(durable) {
  const queue = `${tag}.rmq`;
  const options = { urls: [url], queue, queueOptions: { durable }, ...(durable ? { persistent: true } : {}) };
  // Durable: the server acks after its handler ran (the client's reply consumer on direct
  // reply-to must not ack: RabbitMQ refuses it), with the prefetch Conveyor's handlers use.
  const serverOptions = durable ? { ...options, noAck: false, prefetchCount: 10 } : options;
  const Handlers = controller(MessagePattern('add'), EventPattern('event'), durable);
  class AppModule {}
  Module({ controllers: [Handlers] })(AppModule);
  const app = await NestFactory.createMicroservice(AppModule, {
    transport: Transport.RMQ,
    options: serverOptions,
    logger: ['error'],
  });
  await app.listen();
  const client = ClientProxyFactory.create({ transport: Transport.RMQ, options });
  await client.connect();
  return {
    request: () => lastValueFrom(client.send('add', { a: 1, b: 2 })),
    oneWay: () => lastValueFrom(client.emit('event', { n: 1 }), { defaultValue: undefined }),
    close: async () => {
      await client.close();
      await app.close();
    },
  };
}

/** `count` calls of `call`, `parallel` at a time; calls per second. */
async function rate(call, count, parallel) {
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next++ < count) await call();
    }),
  );
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

const app =
  mode === 'conveyor-embedded'
    ? await conveyorApp(false)
    : mode === 'conveyor-remote'
      ? await conveyorApp(true)
      : await rmqApp(mode === 'rmq-durable');
// Warm-up, then the measured runs.
await rate(app.request, 50, 1);
const result = {
  mode,
  requestSequential: await rate(app.request, COUNT, 1),
  requestParallel: await rate(app.request, COUNT * 4, PARALLEL),
};
handled = 0;
const oneWaySequential = await rate(app.oneWay, COUNT, 1);
const oneWayParallel = await rate(app.oneWay, COUNT * 4, PARALLEL);
// Every event must also have been handled: wait for the handlers to catch up (not timed).
const deadline = Date.now() + 30_000;
while (handled < COUNT * 5 && Date.now() < deadline)
  await new Promise((r) => waiters.push(r) && setTimeout(r, 100));
Object.assign(result, { oneWaySequential, oneWayParallel, handled, expected: COUNT * 5 });
await app.close();
console.log(JSON.stringify(result));
process.exit(0);
