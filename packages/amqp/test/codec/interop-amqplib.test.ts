// Interop with amqplib's own (independently generated) codec: it must read what we write and we must
// read what it writes. Test-only use of amqplib internals, loaded by file path (not exported by amqplib).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  METHOD_SPECS,
  encodeHeaderFrame,
  encodeMethodFrame,
  type AmqpMethod,
  type BasicProperties,
} from '@conveyor/amqp';
import { parseAll, sampleMethod } from './helpers.js';

interface AmqplibDefs {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: Record<string, unknown>): Buffer;
  decode(id: number, buf: Buffer): Record<string, unknown>;
}
interface AmqplibFrame {
  parseFrame(bin: Buffer, max: number): { type: number; channel: number; payload: Buffer } | false;
  decodeFrame(frame: { type: number; channel: number; payload: Buffer }): {
    id: number;
    channel: number;
    fields: Record<string, unknown>;
    size?: number;
  };
}

const require = createRequire(import.meta.url);
const amqplibLib = join(dirname(require.resolve('amqplib')), 'lib');
const defs = require(join(amqplibLib, 'defs.js')) as AmqplibDefs;
const frameCodec = require(join(amqplibLib, 'frame.js')) as AmqplibFrame;

// amqplib decodes longstr args as Buffers and tables as plain objects, like we do; tables with
// small ints come back as numbers either way, so the sample args compare directly.
const methodId = (m: { classId: number; methodId: number }) => m.classId * 0x10000 + m.methodId;

describe('interop with amqplib 2.x codec', () => {
  it.each(METHOD_SPECS.map((s) => [s.name, s] as const))('%s: amqplib → us and us → amqplib', (_n, spec) => {
    const ours = sampleMethod(spec, 5);
    const theirs = defs.encodeMethod(methodId(spec), 7, ours.args as Record<string, unknown>);
    const [frame] = parseAll(theirs);
    expect(frame).toEqual({ type: 'method', channel: 7, method: ours });

    const encoded = encodeMethodFrame(7, ours);
    // Byte-identical, except that in tables amqplib picks the narrowest int type (b, s) where we write I.
    if (!spec.args.some((a) => a.type === 'table')) expect(encoded.equals(theirs)).toBe(true);
    const parsed = frameCodec.parseFrame(encoded, 0);
    if (parsed === false) throw new Error('amqplib could not frame our bytes');
    const decoded = frameCodec.decodeFrame(parsed);
    expect(decoded.id).toBe(methodId(spec));
    expect(decoded.fields).toEqual(ours.args);
  });

  const properties: BasicProperties = {
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: {
      'x-retries': 3,
      'x-big': 2 ** 40,
      'x-name': 'n',
      'x-flag': true,
      'x-list': [1, 'a'],
      'x-nested': { a: 1.5 },
    },
    deliveryMode: 2,
    priority: 9,
    correlationId: 'c-1',
    replyTo: 'replies',
    expiration: '1000',
    messageId: 'id-1',
    timestamp: 1_700_000_123,
    type: 't',
    userId: 'guest',
    appId: 'app',
    clusterId: 'cl',
  };

  it('content headers: amqplib → us', () => {
    const theirs = defs.encodeProperties(60, 3, 1234, properties as Record<string, unknown>);
    const [frame] = parseAll(theirs);
    expect(frame).toMatchObject({ type: 'header', channel: 3, classId: 60, bodySize: 1234, properties });
  });

  it('content headers: us → amqplib', () => {
    const parsed = frameCodec.parseFrame(encodeHeaderFrame(3, 1234, properties), 0);
    if (parsed === false) throw new Error('amqplib could not frame our bytes');
    const decoded = frameCodec.decodeFrame(parsed);
    expect(decoded).toMatchObject({ id: 60, channel: 3, size: 1234 });
    expect(decoded.fields).toEqual(properties);
  });

  it('amqplib field-table type choices (b, s, I, l, d, t, S, A, F, V, x, T) decode as header values', () => {
    const headers = {
      byte: 5,
      short: 1000,
      int: 100_000,
      long: 2 ** 40,
      dbl: 0.5,
      bool: false,
      str: 'é',
      arr: [1, [2]],
      obj: { k: null },
      bytes: Buffer.from([9]),
      ts: { '!': 'timestamp', value: 1_700_000_000 },
      dec: { '!': 'decimal', value: { places: 2, digits: 314 } },
    };
    const theirs = defs.encodeMethod(methodId({ classId: 50, methodId: 10 }), 1, {
      ticket: 0,
      queue: 'q',
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: headers,
    });
    const [frame] = parseAll(theirs);
    const method = (frame as { method: AmqpMethod }).method;
    expect(method.name).toBe('queue.declare');
    expect(method.name === 'queue.declare' && method.args.arguments).toEqual({
      byte: 5,
      short: 1000,
      int: 100_000,
      long: 2 ** 40,
      dbl: 0.5,
      bool: false,
      str: 'é',
      arr: [1, [2]],
      obj: { k: null },
      bytes: Buffer.from([9]),
      ts: new Date(1_700_000_000_000),
      dec: 3.14,
    });
  });
});
