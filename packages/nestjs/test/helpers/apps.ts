import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import type { INestMicroservice, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ConveyorClient,
  ConveyorModule,
  ConveyorServer,
  type ConveyorConnectionOptions,
  type ConveyorServerOptions,
} from '../../src/index.js';

export function uniquePrefix(): string {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  usedPrefixes.add(prefix);
  return prefix;
}

export interface RunningApp {
  app: INestMicroservice;
  server: ConveyorServer;
  client: ConveyorClient;
  close(): Promise<void>;
}

/** A real Nest microservice on the Conveyor transport, with the module's injectable client. */
export async function startApp(
  controllers: Type[],
  connection: ConveyorConnectionOptions,
  server: Partial<ConveyorServerOptions> = {},
  providers: Type[] = [],
): Promise<RunningApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [ConveyorModule.forRoot({ connection, requestTimeoutMs: 2_000, requestRetries: 0 })],
    controllers,
    providers,
  }).compile();
  const strategy = new ConveyorServer({ appName: 'app', ...server, connection });
  const app = moduleRef.createNestMicroservice({ strategy, logger: false });
  await app.listen();
  const client = app.get(ConveyorClient);
  await client.connect();
  return { app, server: strategy, client, close: () => app.close() };
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every prefix handed out in this file's run, so tests on a shared RabbitMQ can delete their queues. */
export const usedPrefixes = new Set<string>();
