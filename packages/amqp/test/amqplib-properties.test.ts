// The one amqplib ↔ core property mapping (the bridge's RabbitMQ endpoints and the NestJS link use
// it): the same meaning as the server's own codec mapping, plus what is amqplib's own.
import { describe, expect, it } from 'vitest';
import { fromAmqplibProperties, fromMessageProperties, toAmqplibOptions } from '@conveyor/amqp';

describe('amqplib properties ↔ core properties', () => {
  it('round-trip through the core model; user-id is not sent', () => {
    const core = fromAmqplibProperties({
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers: { a: 1 },
      deliveryMode: 2,
      priority: 3,
      correlationId: 'c',
      replyTo: 'r',
      expiration: '1500',
      messageId: 'm',
      timestamp: 1_700_000_000,
      type: 't',
      userId: 'guest',
      appId: 'app',
    });
    expect(core).toEqual({
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers: { a: 1 },
      persistent: true,
      priority: 3,
      correlationId: 'c',
      replyTo: 'r',
      expiration: 1_500,
      messageId: 'm',
      timestamp: 1_700_000_000,
      type: 't',
      userId: 'guest',
      appId: 'app',
    });
    const back = toAmqplibOptions({
      ...core,
      headers: { a: 1, big: 2n ** 70n, bytes: new Uint8Array([1, 2]) },
    });
    expect(back).toMatchObject({ deliveryMode: 2, expiration: '1500', messageId: 'm', correlationId: 'c' });
    expect('userId' in back).toBe(false);
    expect(back.headers).toEqual({ a: 1, big: (2n ** 70n).toString(), bytes: Buffer.from([1, 2]) });
  });

  it('absent properties, reported by amqplib as undefined or null, stay absent', () => {
    expect(
      fromAmqplibProperties({
        contentType: undefined,
        headers: undefined,
        deliveryMode: undefined,
        expiration: null,
        messageId: null,
      }),
    ).toEqual({});
    expect(toAmqplibOptions({})).toEqual({});
  });

  it('expiration: whole milliseconds out, the same rule as the server codec; an invalid one received is dropped', () => {
    for (const expiration of [1_500.7, -3, 0]) {
      expect(toAmqplibOptions({ expiration }).expiration).toBe(
        fromMessageProperties({ expiration }).expiration,
      );
    }
    expect(toAmqplibOptions({ expiration: 1_500.7 }).expiration).toBe('1500');
    expect(toAmqplibOptions({ expiration: -3 }).expiration).toBe('0');
    expect(fromAmqplibProperties({ expiration: '1.5' })).toEqual({});
    expect(fromAmqplibProperties({ expiration: 250 })).toEqual({ expiration: 250 });
  });

  it('persistence is only sent when the message says: transient is deliveryMode 1, unsaid leaves amqplib’s default', () => {
    expect(toAmqplibOptions({ persistent: false }).deliveryMode).toBe(1);
    expect(toAmqplibOptions({ persistent: true }).deliveryMode).toBe(2);
    expect('deliveryMode' in toAmqplibOptions({ contentType: 'x' })).toBe(false);
    expect(fromAmqplibProperties({ deliveryMode: 1 })).toEqual({ persistent: false });
  });

  it('nested header tables and arrays are converted all the way down; dates pass as they are', () => {
    const at = new Date(1_700_000_000_000);
    const back = toAmqplibOptions({
      headers: { t: { inner: 5n, list: [new Uint8Array([7]), at] }, gone: undefined },
    });
    expect(back.headers).toEqual({ t: { inner: 5, list: [Buffer.from([7]), at] } });
    expect(Buffer.isBuffer((back.headers!.t as { list: unknown[] }).list[0])).toBe(true);
  });
});
