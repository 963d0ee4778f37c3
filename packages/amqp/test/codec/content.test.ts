import { describe, expect, it } from 'vitest';
import {
  BASIC_PROPERTY_SPECS,
  CommandAssembler,
  createMethod,
  encodeContent,
  encodeDeliver,
  encodeFrame,
  encodeHeaderFrame,
  encodeMethodFrame,
  fromMessageProperties,
  toMessageProperties,
  type AmqpCommand,
  type BasicProperties,
  type ParserEvent,
} from '@conveyor/amqp';
import { errorOf, parseAll } from './helpers.js';
import { toReply } from '../../src/session/protocol-error.js';

const ALL_PROPERTIES: Required<BasicProperties> = {
  contentType: 'application/json',
  contentEncoding: 'gzip',
  headers: { 'x-a': 1, 'x-b': 'two' },
  deliveryMode: 2,
  priority: 5,
  correlationId: 'corr',
  replyTo: 'amq.rabbitmq.reply-to',
  expiration: '60000',
  messageId: 'm-1',
  timestamp: 1_700_000_000,
  type: 'order.created',
  userId: 'guest',
  appId: 'shop',
  clusterId: 'c',
};

function commands(events: ParserEvent[]): AmqpCommand[] {
  const asm = new CommandAssembler();
  return events.flatMap((e) => {
    if (e.type === 'error') throw e.error;
    if (e.type === 'protocol-header' || e.type === 'bad-protocol-header') return [];
    const c = asm.push(e);
    return c ? [c] : [];
  });
}

describe('content header properties', () => {
  it('every single property round-trips on its own flag bit', () => {
    BASIC_PROPERTY_SPECS.forEach((spec, i) => {
      const props = { [spec.field]: ALL_PROPERTIES[spec.field as keyof BasicProperties] } as BasicProperties;
      const frame = encodeHeaderFrame(1, 10, props);
      expect(frame.readUInt16BE(7 + 12)).toBe(1 << (15 - i));
      const [header] = parseAll(frame);
      expect(header).toMatchObject({ type: 'header', classId: 60, bodySize: 10, properties: props });
    });
  });

  it('all properties together, and none at all', () => {
    for (const props of [ALL_PROPERTIES, {}]) {
      const [header] = parseAll(encodeHeaderFrame(1, 0, props));
      expect(header?.type === 'header' && header.properties).toEqual(props);
    }
  });

  it('accepts an empty continuation flags word, refuses one naming properties that do not exist', () => {
    const base = encodeHeaderFrame(1, 0, { priority: 1 });
    const flags = base.readUInt16BE(19);
    const withContinuation = (next: number) => {
      const payload = Buffer.alloc(12 + 4 + 1);
      base.copy(payload, 0, 7, 19);
      payload.writeUInt16BE(flags | 1, 12);
      payload.writeUInt16BE(next, 14);
      payload[16] = 1; // priority
      return encodeFrameRaw(2, payload);
    };
    expect(parseAll(withContinuation(0))[0]).toMatchObject({ type: 'header', properties: { priority: 1 } });
    expect(errorOf(parseAll(withContinuation(0x8000)))).toMatchObject({ amqpReplyCode: 502 });
  });

  it('refuses flag bit 1 (a 15th basic property) with SYNTAX_ERROR (502)', () => {
    const frame = encodeHeaderFrame(1, 0, {});
    frame.writeUInt16BE(0x0002, 19);
    expect(errorOf(parseAll(frame))).toMatchObject({ code: 'SYNTAX_ERROR', channel: 1 });
  });

  it('maps to and from the core MessageProperties', () => {
    const m = toMessageProperties(ALL_PROPERTIES);
    expect(m).toEqual({
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers: { 'x-a': 1, 'x-b': 'two' },
      persistent: true,
      priority: 5,
      correlationId: 'corr',
      replyTo: 'amq.rabbitmq.reply-to',
      expiration: 60000,
      messageId: 'm-1',
      timestamp: 1_700_000_000,
      type: 'order.created',
      userId: 'guest',
      appId: 'shop',
    });
    const { clusterId: _dropped, ...rest } = ALL_PROPERTIES;
    expect(fromMessageProperties(m)).toEqual(rest);
    expect(toMessageProperties({ deliveryMode: 1 })).toEqual({ persistent: false });
  });

  it.each(['-1', 'abc', '1.5', ''])(
    'an expiration of %j is refused with 406 as RabbitMQ does',
    (expiration) => {
      let thrown: unknown;
      try {
        toMessageProperties({ expiration });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toMatchObject({ name: 'PreconditionFailedError', code: 'PRECONDITION_FAILED' });
      // The reply code is the AMQP door's mapping of the engine's code (no longer on the error).
      expect(toReply(thrown).replyCode).toBe(406);
    },
  );
});

function encodeFrameRaw(type: number, payload: Buffer, channel = 1): Buffer {
  const head = Buffer.from([type, 0, channel, 0, 0, 0, 0]);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([0xce])]);
}

describe('CommandAssembler', () => {
  const publish = createMethod('basic.publish', { exchange: 'ex', routingKey: 'rk' });

  it('joins basic.publish + header + several body frames into one command with an owned body', () => {
    const body = Buffer.from('x'.repeat(10_000));
    const bytes = Buffer.concat([
      encodeMethodFrame(1, createMethod('basic.qos', { prefetchCount: 10 })),
      encodeContent(1, publish, { contentType: 'text/plain' }, body, 4096),
    ]);
    const [qos, content] = commands(parseAll(bytes));
    expect(qos).toMatchObject({ type: 'method', channel: 1, method: { name: 'basic.qos' } });
    expect(content).toMatchObject({
      type: 'content',
      channel: 1,
      method: publish,
      properties: { contentType: 'text/plain' },
    });
    expect(content?.type === 'content' && content.body.equals(body)).toBe(true);
  });

  it('a single-frame body inside a bigger chunk is copied so it does not pin the chunk', () => {
    // A large socket chunk (its own memory, not Node's small-buffer pool) holding the content and more.
    const bytes = Buffer.concat([
      encodeContent(1, publish, {}, Buffer.from('hi'), 4096),
      Buffer.alloc(64 * 1024),
    ]);
    const [content] = commands(parseAll(bytes).filter((e) => e.type !== 'error'));
    expect(content?.type === 'content' && content.body.toString()).toBe('hi');
    expect(content?.type === 'content' && content.body.buffer).not.toBe(bytes.buffer);
  });

  it('an empty body completes on the header', () => {
    const [content] = commands(parseAll(encodeContent(1, publish, {}, Buffer.alloc(0), 4096)));
    expect(content?.type === 'content' && content.body.length).toBe(0);
  });

  it('interleaves contents on different channels', () => {
    const a = encodeContent(1, publish, {}, Buffer.from('aaaa'), 10);
    const b = encodeContent(2, publish, {}, Buffer.from('bbbb'), 10);
    const events = [...parseAll(a), ...parseAll(b)];
    // method1 header1 body1a | method2 header2 body2a body2b | body1b
    const order = [0, 1, 2, 4, 5, 6, 7, 3];
    const got = commands(order.map((i) => events[i]!));
    expect(got.map((c) => c.type === 'content' && [c.channel, c.body.toString()])).toEqual([
      [2, 'bbbb'],
      [1, 'aaaa'],
    ]);
  });

  it.each([
    ['a header with no content method', () => [encodeHeaderFrame(1, 1, {})]],
    [
      'a body with no header',
      () => [
        encodeMethodFrame(1, publish),
        encodeFrame({ type: 'body', channel: 1, payload: Buffer.from('x') }),
      ],
    ],
    ['a method where a header is due', () => [encodeMethodFrame(1, publish), encodeMethodFrame(1, publish)]],
    [
      'a body larger than declared',
      () => [
        encodeMethodFrame(1, publish),
        encodeHeaderFrame(1, 1, {}),
        encodeFrame({ type: 'body', channel: 1, payload: Buffer.from('xy') }),
      ],
    ],
    ['a header of another class', () => [encodeMethodFrame(1, publish), encodeHeaderFrame(1, 1, {}, 50)]],
  ])('%s is UNEXPECTED_FRAME (505)', (_label, frames) => {
    const events = parseAll(Buffer.concat(frames()));
    expect(() => commands(events)).toThrow(
      expect.objectContaining({ code: 'UNEXPECTED_FRAME', amqpReplyCode: 505, channel: 1 }),
    );
  });
});

describe('encodeDeliver (fast path)', () => {
  const args = {
    consumerTag: 'ctag-1',
    deliveryTag: 2 ** 33 + 5,
    redelivered: true,
    exchange: 'ex',
    routingKey: 'a.b',
  };

  it('writes exactly what the generic content encoder writes', () => {
    for (const body of [Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(10_000, 7)]) {
      const fast = encodeDeliver(9, args, ALL_PROPERTIES, body, 4096);
      const generic = encodeContent(9, createMethod('basic.deliver', args), ALL_PROPERTIES, body, 4096);
      expect(fast.equals(generic)).toBe(true);
    }
  });

  it('forwards raw property bytes verbatim, keeping types the header model would lose', () => {
    // A decimal header survives publish → deliver when the property bytes are forwarded.
    const published = encodeHeaderFrame(1, 3, { headers: { price: 1.5 } });
    const [header] = parseAll(published);
    if (header?.type !== 'header') throw new Error('no header');
    const out = encodeDeliver(1, args, header.propertyBytes, Buffer.from('abc'), 4096);
    const [, deliveredHeader] = parseAll(out);
    expect(
      deliveredHeader?.type === 'header' && deliveredHeader.propertyBytes.equals(header.propertyBytes),
    ).toBe(true);
  });

  it('splits the body into frames of at most frame_max - 8 bytes', () => {
    const events = parseAll(encodeDeliver(1, args, {}, Buffer.alloc(100, 1), 40));
    const sizes = events.flatMap((e) => (e.type === 'body' ? [e.payload.length] : []));
    expect(sizes).toEqual([32, 32, 32, 4]);
  });
});
