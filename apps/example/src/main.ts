import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { AmqpServer } from '@conveyor/amqp';
import { Broker } from '@conveyor/core';
import { ConveyorServer, type ConveyorConnectionOptions } from '@conveyor/nestjs';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

// `node dist/main.js` runs the engine inside the app, with an AMQP door on --port (default 5673)
// so plain AMQP clients can reach it; `--amqp URL` uses a Conveyor broker or RabbitMQ instead.
const { values } = parseArgs({
  options: {
    amqp: { type: 'string' },
    kind: { type: 'string', default: 'conveyor' },
    port: { type: 'string', default: '5673' },
  },
});

let connection: ConveyorConnectionOptions;
let door: { server: AmqpServer; broker: Broker } | undefined;
if (values.amqp !== undefined) {
  connection = { url: values.amqp, kind: values.kind === 'rabbitmq' ? 'rabbitmq' : 'conveyor' };
} else {
  const broker = await Broker.open();
  const server = new AmqpServer(broker);
  const { port } = await server.listen(Number(values.port), '127.0.0.1');
  door = { server, broker };
  connection = { broker };
  console.log(`embedded engine; AMQP on amqp://guest:guest@127.0.0.1:${port}`);
}

const app = await NestFactory.createMicroservice(AppModule.register(connection), {
  strategy: new ConveyorServer({ appName: 'example', connection }),
  logger: ['error', 'warn'],
});
await app.listen();
console.log('example ready');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (async () => {
      await app.close();
      await door?.server.close();
      await door?.broker.close();
      process.exit(0);
    })();
  });
}
