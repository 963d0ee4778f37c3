import { describe, expect, it } from 'vitest';
import { requestReplyBridges, startBridges } from '@conveyor/bridge';
import { Requester } from '@conveyor/core';
import { rabbitAndConveyor, RABBITMQ_URL, rabbitMissing, unique } from './support.js';

describe.skipIf(rabbitMissing !== undefined)('request/response across the bridge', () => {
  const env = rabbitAndConveyor();

  it('a Conveyor Requester is answered by a legacy amqplib RPC server on RabbitMQ', async () => {
    const rpcQueue = await env.rabbit.queue(unique('rpc-square'));
    const replyQueue = unique('bridge-replies');
    env.rabbit.owns(replyQueue);
    // The legacy server: replies to msg.properties.replyTo with the request's correlation id.
    const server = await env.rabbit.model.createChannel();
    const seenReplyTo: string[] = [];
    await server.consume(rpcQueue, (msg) => {
      if (!msg) return;
      seenReplyTo.push(msg.properties.replyTo as string);
      const n = Number(msg.content.toString());
      server.sendToQueue(msg.properties.replyTo as string, Buffer.from(String(n * n)), {
        correlationId: msg.properties.correlationId as string,
      });
      server.ack(msg);
    });
    const vhost = env.conveyor.current.vhost();
    await vhost.declareQueue('square-requests');
    const bridges = requestReplyBridges({
      name: unique('rpc'),
      broker: env.conveyor.ref,
      requestQueue: 'square-requests',
      amqpUrl: RABBITMQ_URL,
      amqpQueue: rpcQueue,
      replyQueue,
    });
    await startBridges(bridges);
    const requester = await Requester.create(vhost);
    const replies = await Promise.all(
      [3, 4, 12].map((n) =>
        requester.request(
          'square-requests',
          { body: String(n) },
          { timeoutMs: 5_000, correlationId: `sq-${n}` },
        ),
      ),
    );
    expect(replies.map((r) => Buffer.from(r.message.body).toString())).toEqual(['9', '16', '144']);
    expect(replies.map((r) => r.message.properties.correlationId)).toEqual(['sq-3', 'sq-4', 'sq-12']);
    expect(new Set(seenReplyTo)).toEqual(new Set([replyQueue])); // rewritten to the bridge-owned queue
    expect(bridges[1].status()).toMatchObject({ moved: 3, dropped: 0 });
    await requester.close();
    await server.close();
    for (const b of bridges) await b.stop();
  });
});
