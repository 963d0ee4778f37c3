// A NestJS app as a user writes it, outside the monorepo: built by the consumer test for ESM and
// for CommonJS, against @conveyor/* installed from their tarballs.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Payload } from '@nestjs/microservices';
import {
  Broadcast,
  ConveyorClient,
  ConveyorModule,
  ConveyorServer,
  OneWay,
  Request as ConveyorRequest,
  RequestTimeoutError,
  type ConveyorConnectionOptions,
} from '@conveyor/nestjs';

const jobs: number[] = [];
const news: string[] = [];

@Controller()
class Handlers {
  @OneWay('consumer.jobs')
  job(@Payload() job: { n: number }): void {
    jobs.push(job.n);
  }

  @ConveyorRequest('consumer.add')
  add(@Payload() terms: { a: number; b: number }): number {
    return terms.a + terms.b;
  }

  @Broadcast('consumer.news')
  onNews(@Payload() item: { text: string }): void {
    news.push(item.text);
  }
}

@Module({})
class AppModule {
  static register(connection: ConveyorConnectionOptions) {
    return { module: AppModule, imports: [ConveyorModule.forRoot({ connection })], controllers: [Handlers] };
  }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
}

export async function run(url: string | undefined): Promise<void> {
  const connection: ConveyorConnectionOptions = url === undefined ? {} : { url, kind: 'conveyor' };
  const app = await NestFactory.createMicroservice(AppModule.register(connection), {
    strategy: new ConveyorServer({ appName: 'consumer', connection }),
    logger: ['error', 'warn'],
  });
  await app.listen();
  const client = app.get(ConveyorClient);
  await client.enqueue('consumer.jobs', { n: 7 });
  const sum = await client.request<number>('consumer.add', { a: 2, b: 3 }, { timeout: 5_000 });
  await client.broadcast('consumer.news', { text: 'hello' });
  await until(() => jobs.length > 0 && news.length > 0);
  const timeoutIsExported = typeof RequestTimeoutError === 'function';
  console.log(JSON.stringify({ jobs, sum, news, timeoutIsExported }));
  await app.close();
}
