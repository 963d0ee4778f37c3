// Throughput of the codec's hot paths. Run by hand (not part of `vitest run`):
//   npm run bench:codec -w @conveyor/amqp
// Each task handles BATCH frames/messages, so frames per second = ops/s × BATCH.
import { bench, describe } from 'vitest';
import {
  CommandAssembler,
  FrameParser,
  createMethod,
  encodeContent,
  encodeDeliver,
  encodeMethodFrame,
  type BasicProperties,
} from '@conveyor/amqp';

const BATCH = 1000;
const publish = createMethod('basic.publish', { exchange: 'orders', routingKey: 'order.created.eu' });
const properties: BasicProperties = {
  contentType: 'application/json',
  deliveryMode: 2,
  messageId: 'msg-000001',
  timestamp: 1_700_000_000,
  headers: { 'x-tenant': 'acme', 'x-attempt': 1 },
};
const body = Buffer.alloc(128, 0x61);

const publishFrames = Buffer.concat(Array.from({ length: BATCH }, () => encodeMethodFrame(1, publish)));
const publishMessages = Buffer.concat(
  Array.from({ length: BATCH }, () => encodeContent(1, publish, properties, body, 131072)),
);
// Sockets hand over ~64 KiB chunks; split the stream likewise (frames straddle chunk boundaries).
const chunks = (buf: Buffer) =>
  Array.from({ length: Math.ceil(buf.length / 65536) }, (_, i) => buf.subarray(i * 65536, (i + 1) * 65536));
const publishMessageChunks = chunks(publishMessages);

const deliverArgs = {
  consumerTag: 'amq.ctag-abc',
  deliveryTag: 1,
  redelivered: false,
  exchange: 'orders',
  routingKey: 'order.created.eu',
};
const [, rawHeader] = new FrameParser({ expectProtocolHeader: false, frameMax: 0 }).push(
  encodeContent(1, publish, properties, body, 131072),
);
const propertyBytes = rawHeader?.type === 'header' ? Buffer.from(rawHeader.propertyBytes) : Buffer.alloc(2);

describe(`decode (${BATCH} per op)`, () => {
  bench('basic.publish method frames', () => {
    const events = new FrameParser({ expectProtocolHeader: false, frameMax: 0 }).push(publishFrames);
    if (events.length !== BATCH) throw new Error('lost frames');
  });

  bench('basic.publish + header + 128 B body → commands (64 KiB chunks)', () => {
    const parser = new FrameParser({ expectProtocolHeader: false, frameMax: 0 });
    const asm = new CommandAssembler();
    let n = 0;
    for (const chunk of publishMessageChunks) {
      for (const e of parser.push(chunk)) {
        if (e.type === 'method' || e.type === 'header' || e.type === 'body') {
          if (asm.push(e)?.type === 'content') n++;
        }
      }
    }
    if (n !== BATCH) throw new Error(`lost messages: ${n}`);
  });
});

describe(`encode (${BATCH} per op)`, () => {
  bench('basic.deliver + header + 128 B body (properties object)', () => {
    for (let i = 1; i <= BATCH; i++)
      encodeDeliver(1, { ...deliverArgs, deliveryTag: i }, properties, body, 131072);
  });

  bench('basic.deliver + header + 128 B body (raw property bytes)', () => {
    for (let i = 1; i <= BATCH; i++)
      encodeDeliver(1, { ...deliverArgs, deliveryTag: i }, propertyBytes, body, 131072);
  });

  bench('generic encodeContent(basic.deliver)', () => {
    for (let i = 1; i <= BATCH; i++) {
      encodeContent(
        1,
        createMethod('basic.deliver', { ...deliverArgs, deliveryTag: i }),
        properties,
        body,
        131072,
      );
    }
  });
});
