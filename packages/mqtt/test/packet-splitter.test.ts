import { generate, parser as createParser, type IPublishPacket, type Packet } from 'mqtt-packet';
import { expect, test } from 'vitest';
import { PacketSplitter } from '../src/codec/packet-splitter.js';
import { decodePublish, decodeShortAck } from '../src/codec/publish-decoder.js';
import { basePublish, publishCases } from './publish-cases.js';

const publish = basePublish;
const publishes = publishCases;

function parse(bytes: Buffer, version: 4 | 5): Packet {
  const p = createParser({ protocolVersion: version });
  let out: Packet | undefined;
  p.on('packet', (packet: Packet) => (out = packet));
  p.parse(bytes);
  return out!;
}

test.each(publishes)(
  '[MQTT-3.3] a PUBLISH without properties decodes as mqtt-packet parses it: %s',
  (_n, packet) => {
    for (const version of [4, 5] as const) {
      const bytes = generate(packet, { protocolVersion: version });
      const { properties: _p, ...expected } = parse(bytes, version) as IPublishPacket;
      expect(decodePublish(bytes, version)).toEqual(expected);
    }
  },
);

test('a PUBLISH with properties, QoS 3 or a short body is left to mqtt-packet', () => {
  expect(
    decodePublish(generate({ ...publish, properties: { contentType: 't' } }, { protocolVersion: 5 }), 5),
  ).toBeUndefined();
  const qos3 = generate(publish);
  qos3[0] = qos3[0]! | 0x06;
  expect(decodePublish(qos3, 4)).toBeUndefined();
  expect(decodePublish(Buffer.from([0x32, 0x03, 0x00, 0x01, 0x61]), 4)).toBeUndefined(); // no packet id
});

test('whole packets come out whatever the chunking, byte by byte included', () => {
  const packets = [
    generate({ cmd: 'pingreq' }),
    ...publishes.map(([, p]) => generate(p)),
    generate({ cmd: 'disconnect' }),
  ];
  const stream = Buffer.concat(packets);
  for (const size of [1, 2, 3, 7, 1000, stream.length]) {
    const splitter = new PacketSplitter(1 << 20);
    const out: Buffer[] = [];
    const results = new Set<string>();
    for (let i = 0; i < stream.length; i += size)
      results.add(splitter.push(stream.subarray(i, i + size), (f) => out.push(Buffer.from(f))));
    expect([...results]).toEqual(['ok']);
    expect(out).toEqual(packets);
  }
});

test('[MQTT-3.2.2-15] an oversized packet is refused from its header; a 5-byte remaining length is malformed', () => {
  const big = generate({ ...publish, payload: Buffer.alloc(2000) });
  expect(new PacketSplitter(1000).push(big.subarray(0, 4), () => undefined)).toBe('too-large');
  expect(
    new PacketSplitter(1000).push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), () => undefined),
  ).toBe('malformed');
});

test('[MQTT-3.4] a short PUBACK or PUBCOMP decodes as mqtt-packet parses it (the fields the server reads)', () => {
  for (const cmd of ['puback', 'pubcomp'] as const)
    for (const version of [4, 5] as const) {
      const bytes = generate(
        { cmd, messageId: 258, ...(version === 5 ? { reasonCode: 0 } : {}) },
        { protocolVersion: version },
      );
      const parsed = parse(bytes, version) as { cmd: string; messageId: number; reasonCode?: number };
      expect(decodeShortAck(bytes, version)).toEqual({
        cmd: parsed.cmd,
        messageId: parsed.messageId,
        ...(version === 5 ? { reasonCode: parsed.reasonCode } : {}),
      });
    }
  expect(decodeShortAck(Buffer.from([0x50, 2, 0, 1]), 4)).toBeUndefined(); // PUBREC goes through mqtt-packet
});
