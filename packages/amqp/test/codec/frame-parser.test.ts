import { describe, expect, it } from 'vitest';
import {
  FrameParser,
  HEARTBEAT_FRAME,
  PROTOCOL_HEADER,
  createMethod,
  encodeContent,
  encodeFrame,
  encodeMethodFrame,
  type ParserEvent,
} from '@conveyor/amqp';
import { errorOf, parseAll } from './helpers.js';

const publish = createMethod('basic.publish', { exchange: 'ex', routingKey: 'rk' });
const STREAM = Buffer.concat([
  encodeMethodFrame(1, createMethod('channel.open', {})),
  encodeContent(1, publish, { contentType: 'text/plain', headers: { a: 1 } }, Buffer.from('hello world'), 13),
  HEARTBEAT_FRAME,
  encodeMethodFrame(1, createMethod('basic.ack', { deliveryTag: 7, multiple: true })),
]);

function feed(parser: FrameParser, chunks: Buffer[]): ParserEvent[] {
  return chunks.flatMap((c) => parser.push(c));
}

describe('FrameParser', () => {
  it('decodes many frames from one chunk', () => {
    const events = parseAll(STREAM);
    expect(events.map((e) => e.type)).toEqual([
      'method',
      'method',
      'header',
      'body',
      'body',
      'body',
      'heartbeat',
      'method',
    ]);
    const bodies = events.flatMap((e) => (e.type === 'body' ? [e.payload.toString()] : []));
    expect(bodies).toEqual(['hello', ' worl', 'd']); // frame_max 13 → 5-byte payloads
  });

  it('gives the same frames whatever the chunk boundaries (split at every offset)', () => {
    const expected = parseAll(STREAM);
    for (let i = 0; i <= STREAM.length; i++) {
      for (const j of [i, i + 1, i + 3, i + 8]) {
        if (j > STREAM.length) continue;
        const chunks = [STREAM.subarray(0, i), STREAM.subarray(i, j), STREAM.subarray(j)];
        expect(feed(new FrameParser({ expectProtocolHeader: false, frameMax: 0 }), chunks)).toEqual(expected);
      }
    }
  });

  it('survives a byte-at-a-time feed', () => {
    const parser = new FrameParser({ expectProtocolHeader: false, frameMax: 0 });
    const chunks = [...STREAM].map((b) => Buffer.from([b]));
    expect(feed(parser, chunks)).toEqual(parseAll(STREAM));
  });

  it('body payloads of frames inside a chunk are views, not copies', () => {
    const events = parseAll(STREAM);
    const body = events.find((e) => e.type === 'body');
    expect(body?.type === 'body' && body.payload.buffer).toBe(STREAM.buffer);
  });

  describe('protocol header', () => {
    it('accepts AMQP 0-9-1 (split across chunks) and then parses frames', () => {
      const parser = new FrameParser();
      const bytes = Buffer.concat([PROTOCOL_HEADER, HEARTBEAT_FRAME]);
      const events = feed(parser, [bytes.subarray(0, 3), bytes.subarray(3, 10), bytes.subarray(10)]);
      expect(events).toEqual([{ type: 'protocol-header' }, { type: 'heartbeat', channel: 0 }]);
    });

    it.each([
      ['AMQP 0-9 (old)', Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9])],
      ['AMQP 1.0', Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0])],
      ['HTTP', Buffer.from('GET / HTTP/1.1\r\n')],
    ])('reports %s as bad-protocol-header and stops', (_label, bytes) => {
      const parser = new FrameParser();
      expect(parser.push(bytes)).toEqual([{ type: 'bad-protocol-header', received: bytes.subarray(0, 8) }]);
      expect(parser.failed).toBe(true);
      expect(parser.push(HEARTBEAT_FRAME)).toEqual([]);
    });
  });

  describe('malformed frames', () => {
    it('a bad frame-end octet is FRAME_ERROR (501), after the good frames before it', () => {
      const bad = Buffer.from(HEARTBEAT_FRAME);
      bad[7] = 0;
      const events = parseAll(Buffer.concat([HEARTBEAT_FRAME, bad]));
      expect(events[0]).toEqual({ type: 'heartbeat', channel: 0 });
      expect(errorOf(events)).toMatchObject({ code: 'FRAME_ERROR', amqpReplyCode: 501 });
    });

    it('a frame over frame_max is FRAME_ERROR (501) as soon as its head arrives', () => {
      const parser = new FrameParser({ expectProtocolHeader: false, frameMax: 4096 });
      const big = encodeFrame({ type: 'body', channel: 4, payload: Buffer.alloc(4089) }); // 4097 bytes
      const events = parser.push(big.subarray(0, 7));
      expect(errorOf(events)).toMatchObject({ amqpReplyCode: 501, channel: 4 });
      expect(parser.failed).toBe(true);
    });

    it('a frame of exactly frame_max is fine, and setFrameMax raises the limit', () => {
      const parser = new FrameParser({ expectProtocolHeader: false, frameMax: 4096 });
      const exact = encodeFrame({ type: 'body', channel: 1, payload: Buffer.alloc(4088) });
      expect(parser.push(exact)[0]?.type).toBe('body');
      parser.setFrameMax(131072);
      const bigger = encodeFrame({ type: 'body', channel: 1, payload: Buffer.alloc(100_000) });
      expect(parser.push(bigger)[0]?.type).toBe('body');
    });

    it('an unknown frame type is FRAME_ERROR (501)', () => {
      const frame = Buffer.from(HEARTBEAT_FRAME);
      frame[0] = 9;
      expect(errorOf(parseAll(frame))).toMatchObject({ amqpReplyCode: 501 });
    });

    it('a heartbeat on a non-zero channel is FRAME_ERROR (501)', () => {
      const frame = Buffer.from(HEARTBEAT_FRAME);
      frame.writeUInt16BE(3, 1);
      expect(errorOf(parseAll(frame))).toMatchObject({ amqpReplyCode: 501, channel: 3 });
    });

    it('never throws on random garbage: every outcome is frames and at most one typed error', () => {
      let seed = 42;
      const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
      for (let n = 0; n < 300; n++) {
        const bytes = Buffer.from(STREAM);
        for (let k = 0; k < 3; k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
        const events = parseAll(bytes, 4096);
        const errors = events.filter((e) => e.type === 'error');
        expect(errors.length).toBeLessThanOrEqual(1);
        for (const e of errors) {
          expect([501, 502, 503]).toContain(e.type === 'error' && e.error.amqpReplyCode);
        }
      }
    });
  });
});
