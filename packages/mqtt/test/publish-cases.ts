import type { IPublishPacket } from 'mqtt-packet';

/** PUBLISH packets without properties that the direct encoder and decoder must treat as mqtt-packet does. */
export const basePublish: IPublishPacket = {
  cmd: 'publish',
  topic: 'a/b',
  payload: Buffer.from('x'),
  qos: 0,
  dup: false,
  retain: false,
};

export const publishCases: [string, IPublishPacket][] = [
  ['QoS 0', basePublish],
  ['QoS 1 with id, dup, retain', { ...basePublish, qos: 1, messageId: 65535, dup: true, retain: true }],
  ['QoS 2', { ...basePublish, qos: 2, messageId: 1 }],
  ['empty payload', { ...basePublish, payload: Buffer.alloc(0) }],
  ['UTF-8 topic', { ...basePublish, topic: 'capteurs/température/€' }],
  ['2-byte remaining length', { ...basePublish, payload: Buffer.alloc(200, 1) }],
  ['3-byte remaining length', { ...basePublish, payload: Buffer.alloc(20_000, 2) }],
];
