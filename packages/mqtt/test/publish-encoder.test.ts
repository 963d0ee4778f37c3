import { generate, type IPublishPacket } from 'mqtt-packet';
import { expect, test } from 'vitest';
import { encodeAck, encodePublish } from '../src/codec/publish-encoder.js';
import { basePublish, publishCases } from './publish-cases.js';

const base = basePublish;
const cases: [string, IPublishPacket][] = [
  ...publishCases,
  ['4-byte remaining length', { ...base, payload: Buffer.alloc(2_100_000, 3) }],
];

test.each(cases)(
  '[MQTT-3.3] a PUBLISH without properties encodes byte for byte as mqtt-packet does: %s',
  (_name, packet) => {
    for (const version of [4, 5] as const)
      expect(encodePublish(packet, version)!.equals(generate(packet, { protocolVersion: version }))).toBe(
        true,
      );
  },
);

test('a PUBLISH with MQTT 5 properties is left to mqtt-packet', () => {
  expect(encodePublish({ ...base, properties: { contentType: 'text/plain' } }, 5)).toBeUndefined();
  expect(encodePublish({ ...base, properties: {} }, 5)!.equals(generate(base, { protocolVersion: 5 }))).toBe(
    true,
  );
});

test('[MQTT-3.4] acks with reason code 0 encode in the 4-byte short form, as mqtt-packet writes them', () => {
  for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const)
    for (const version of [4, 5] as const) {
      const packet = { cmd, messageId: 258, ...(version === 5 ? { reasonCode: 0 } : {}) };
      expect(encodeAck(packet)!.equals(generate(packet, { protocolVersion: version }))).toBe(true);
    }
  expect(encodeAck({ cmd: 'puback', messageId: 1, reasonCode: 0x10 })).toBeUndefined();
  expect(encodeAck({ cmd: 'pingresp' })).toBeUndefined();
});
