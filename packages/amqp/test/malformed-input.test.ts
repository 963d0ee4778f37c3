/** Hand-written bad input, each with the exact close the spec (and RabbitMQ) calls for. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMethod, encodeFrame, encodeMethodFrame, PROTOCOL_HEADER } from '../src/index.js';
import { closeClients, connect } from './helpers/amqp-clients.js';
import { closeCode, isMethod, rawChannel, rawConnect, type RawClient } from './helpers/raw-client.js';
import { startConveyor, type ConveyorTarget } from './helpers/targets.js';

let t: ConveyorTarget;
beforeAll(async () => {
  t = await startConveyor({ frameMax: 8192, maxMessageBytes: 1000 });
});
afterAll(async () => {
  await closeClients();
  await t.close();
});

/** Sends `bytes` on a fresh connection with channel 1 open; returns the connection.close reply code. */
async function connectionCloseFor(bytes: Buffer): Promise<{ code: number | undefined; client: RawClient }> {
  const client = await rawChannel(t.port, { frameMax: 8192 });
  client.send(bytes);
  const close = await client.next(isMethod('connection.close'));
  client.sendMethod(0, createMethod('connection.close-ok', {}));
  await client.closed; // within the close timeout: the server ends the socket after close-ok or a framing error
  return { code: closeCode(close), client };
}

const qos = (channel: number): Buffer =>
  encodeMethodFrame(channel, createMethod('basic.qos', { prefetchCount: 1 }));

describe('malformed frames close the connection with the spec reply code', () => {
  it('bad frame-end octet → 501 FRAME_ERROR', async () => {
    const frame = qos(1);
    frame[frame.length - 1] = 0x00;
    expect((await connectionCloseFor(frame)).code).toBe(501);
  });

  it('frame larger than the negotiated frame_max → 501 FRAME_ERROR', async () => {
    const big = encodeFrame({ type: 'body', channel: 1, payload: Buffer.alloc(9000) });
    expect((await connectionCloseFor(big)).code).toBe(501);
  });

  it('unknown method → 503 COMMAND_INVALID', async () => {
    const frame = qos(1);
    frame.writeUInt16BE(999, 9); // method id
    expect((await connectionCloseFor(frame)).code).toBe(503);
  });

  it('truncated method arguments → 502 SYNTAX_ERROR', async () => {
    const frame = encodeMethodFrame(1, createMethod('queue.declare', { queue: 'abc' }));
    // Keep the frame well-formed but cut the arguments: shorten the payload by 3 bytes.
    const cut = Buffer.concat([frame.subarray(0, frame.length - 4), Buffer.from([0xce])]);
    cut.writeUInt32BE(cut.length - 8, 3);
    expect((await connectionCloseFor(cut)).code).toBe(502);
  });

  it('method on a channel that is not open → 504 CHANNEL_ERROR', async () => {
    expect((await connectionCloseFor(qos(2))).code).toBe(504);
  });

  it('method on a channel after it was closed → 504 CHANNEL_ERROR', async () => {
    const close = encodeMethodFrame(
      1,
      createMethod('channel.close', { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }),
    );
    const client = await rawChannel(t.port);
    client.send(close);
    await client.next(isMethod('channel.close-ok'));
    client.send(qos(1));
    expect(closeCode(await client.next(isMethod('connection.close')))).toBe(504);
    client.destroy();
  });

  it('second channel.open on an open channel → 504 CHANNEL_ERROR', async () => {
    expect((await connectionCloseFor(encodeMethodFrame(1, createMethod('channel.open', {})))).code).toBe(504);
  });

  it('a channel method on channel 0 → 503; a connection method on channel 1 → 503', async () => {
    expect((await connectionCloseFor(qos(0))).code).toBe(503);
    expect(
      (await connectionCloseFor(encodeMethodFrame(1, createMethod('connection.open', { virtualHost: '/' }))))
        .code,
    ).toBe(503);
  });

  it('content body with no header, or content on channel 0 → 505 UNEXPECTED_FRAME', async () => {
    expect(
      (await connectionCloseFor(encodeFrame({ type: 'body', channel: 1, payload: Buffer.from('x') }))).code,
    ).toBe(505);
    expect(
      (await connectionCloseFor(encodeFrame({ type: 'header', channel: 0, bodySize: 1, properties: {} })))
        .code,
    ).toBe(505);
  });

  it('a method where content was due → 505 UNEXPECTED_FRAME', async () => {
    const publish = encodeMethodFrame(1, createMethod('basic.publish', { exchange: '', routingKey: 'q' }));
    expect((await connectionCloseFor(Buffer.concat([publish, qos(1)]))).code).toBe(505);
  });

  it('a message body over maxMessageBytes closes only the channel, with 406', async () => {
    const client = await rawChannel(t.port, { frameMax: 8192 });
    client.send(encodeMethodFrame(1, createMethod('basic.publish', { exchange: '', routingKey: 'q' })));
    client.send(encodeFrame({ type: 'header', channel: 1, bodySize: 5000, properties: {} }));
    client.send(encodeFrame({ type: 'body', channel: 1, payload: Buffer.alloc(5000) }));
    expect(closeCode(await client.next(isMethod('channel.close')))).toBe(406);
    client.sendMethod(1, createMethod('channel.close-ok', {}));
    client.sendMethod(1, createMethod('channel.open', {}));
    await client.next(isMethod('channel.open-ok'));
    client.destroy();
  });

  it('a wrong protocol header gets our header back and the socket closed', async () => {
    const client = await rawConnect(t.port);
    const received: Buffer[] = [];
    client.socket.on('data', (d: Buffer) => received.push(d));
    client.send(Buffer.from('AMQP\x00\x00\x08\x00'));
    await client.closed;
    expect(Buffer.concat(received).equals(PROTOCOL_HEADER)).toBe(true);
  });

  it('after all that the server still serves a fresh amqplib client', async () => {
    const conn = await connect(t.url);
    const ch = await conn.createChannel();
    expect((await ch.assertQueue('', { exclusive: true })).queue).toMatch(/^amq\.gen-/);
    expect(t.server.connectionCount).toBe(1);
  });
});
