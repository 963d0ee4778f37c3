import { describe, expect, it } from 'vitest';
import { METHOD_SPECS, createMethod, encodeMethodFrame, type AmqpMethod } from '@conveyor/amqp';
import { bitCount, errorOf, parseAll, sampleMethod } from './helpers.js';

function roundTrip(method: AmqpMethod, channel = 3): AmqpMethod {
  const events = parseAll(encodeMethodFrame(channel, method));
  expect(events).toHaveLength(1);
  const [frame] = events;
  if (frame?.type !== 'method') throw new Error(`got ${frame?.type}`);
  expect(frame.channel).toBe(channel);
  return frame.method;
}

describe('method frames', () => {
  it.each(METHOD_SPECS.map((s) => [s.name, s] as const))(
    '%s round-trips, every bit pattern',
    (_name, spec) => {
      for (let seed = 0; seed < 2 ** bitCount(spec); seed++) {
        const method = sampleMethod(spec, seed);
        expect(roundTrip(method)).toEqual(method);
      }
    },
  );

  it('packs consecutive bits into one octet, least significant first (queue.declare)', () => {
    const frame = encodeMethodFrame(
      1,
      createMethod('queue.declare', { queue: 'q', passive: true, exclusive: true, nowait: true }),
    );
    // type(1) channel(2) size(4) class(2) method(2) ticket(2) queue(1+1) bits(1) table(4) end(1)
    expect(frame.length).toBe(7 + 4 + 2 + 2 + 1 + 4 + 1);
    expect(frame[7 + 4 + 2 + 2]).toBe(0b10101);
  });

  it('restarts bit packing after a non-bit argument (basic.deliver: one bit between strings)', () => {
    const m = createMethod('basic.deliver', {
      consumerTag: 'c',
      deliveryTag: 1,
      redelivered: true,
      exchange: 'x',
      routingKey: 'k',
    });
    expect(roundTrip(m)).toEqual(m);
    const frame = encodeMethodFrame(1, m);
    expect(frame[7 + 4 + 2 + 8]).toBe(1);
  });

  it('createMethod fills the spec defaults', () => {
    const m = createMethod('basic.consume', { queue: 'q' });
    expect(m).toEqual({
      name: 'basic.consume',
      classId: 60,
      methodId: 20,
      args: {
        ticket: 0,
        queue: 'q',
        consumerTag: '',
        noLocal: false,
        noAck: false,
        exclusive: false,
        nowait: false,
        arguments: {},
      },
    });
    expect(createMethod('connection.start', { serverProperties: {} }).args.mechanisms).toEqual(
      Buffer.from('PLAIN'),
    );
  });

  it('narrows args by method name in a switch', () => {
    const m = roundTrip(createMethod('basic.publish', { exchange: 'amq.topic', routingKey: 'a.b' }));
    switch (m.name) {
      case 'basic.publish':
        expect(m.args.routingKey).toBe('a.b');
        expect(m.args.mandatory).toBe(false);
        break;
      default:
        throw new Error('not narrowed');
    }
  });

  it('unknown class or method ids are COMMAND_INVALID (503)', () => {
    const frame = encodeMethodFrame(5, createMethod('channel.close-ok', {}));
    frame.writeUInt16BE(99, 7); // class 99
    const err = errorOf(parseAll(frame));
    expect(err).toMatchObject({
      code: 'COMMAND_INVALID',
      amqpReplyCode: 503,
      channel: 5,
      classId: 99,
      methodId: 41,
    });
    frame.writeUInt16BE(60, 7);
    frame.writeUInt16BE(999, 9);
    expect(errorOf(parseAll(frame))).toMatchObject({ amqpReplyCode: 503, classId: 60, methodId: 999 });
  });

  it('truncated arguments are a SYNTAX_ERROR (502) naming the method', () => {
    const full = encodeMethodFrame(2, createMethod('basic.publish', { exchange: 'ex', routingKey: 'rk' }));
    // Cut the payload short by 3 bytes but keep a valid frame around it.
    const payload = full.subarray(7, full.length - 1 - 3);
    const frame = Buffer.concat([
      Buffer.from([1, 0, 2, 0, 0, 0, payload.length]),
      payload,
      Buffer.from([0xce]),
    ]);
    expect(errorOf(parseAll(frame))).toMatchObject({
      code: 'SYNTAX_ERROR',
      amqpReplyCode: 502,
      channel: 2,
      classId: 60,
      methodId: 40,
    });
  });

  it('trailing bytes after the arguments are a SYNTAX_ERROR (502)', () => {
    const full = encodeMethodFrame(1, createMethod('basic.ack', { deliveryTag: 9 }));
    const payload = Buffer.concat([full.subarray(7, full.length - 1), Buffer.from([0])]);
    const frame = Buffer.concat([
      Buffer.from([1, 0, 1, 0, 0, 0, payload.length]),
      payload,
      Buffer.from([0xce]),
    ]);
    expect(errorOf(parseAll(frame))).toMatchObject({ amqpReplyCode: 502 });
  });

  it('decodes thousands of distinct short strings correctly through the string cache', () => {
    const keys = Array.from({ length: 6000 }, (_, i) =>
      i % 3 === 0 ? `ключ.${i}` : `rk.${i}.${'x'.repeat(i % 50)}`,
    );
    const frames = Buffer.concat(
      keys.map((routingKey) => encodeMethodFrame(1, createMethod('basic.publish', { routingKey }))),
    );
    const routingKeys = () =>
      parseAll(frames).map(
        (e) => e.type === 'method' && e.method.name === 'basic.publish' && e.method.args.routingKey,
      );
    expect(routingKeys()).toEqual(keys);
    // And again, now that the cache is warm (and full of collisions).
    expect(routingKeys()).toEqual(keys);
  });

  it('refuses to encode a shortstr over 255 bytes', () => {
    expect(() =>
      encodeMethodFrame(1, createMethod('basic.consume-ok', { consumerTag: 'x'.repeat(256) })),
    ).toThrow(/255/);
  });
});
