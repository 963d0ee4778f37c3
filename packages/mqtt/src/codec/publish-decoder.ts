import type { IPubackPacket, IPubcompPacket, IPublishPacket } from 'mqtt-packet';

/**
 * Decodes one whole PUBLISH packet (from PacketSplitter) without MQTT 5 properties: the hot path
 * of every publish. Anything else (properties, QoS 3, a short packet) returns undefined and goes
 * through mqtt-packet's parser, which also reports what is malformed. The fields are the ones
 * mqtt-packet's parser gives (packages/mqtt/test/packet-splitter.test.ts compares them packet by packet).
 */
export function decodePublish(frame: Buffer, version: 3 | 4 | 5): IPublishPacket | undefined {
  const flags = frame[0]! & 0x0f;
  const qos = (flags >> 1) & 3;
  if (frame[0]! >> 4 !== 3 || qos === 3) return undefined;
  let at = 1;
  while (frame[at]! & 0x80) at++;
  at++;
  const length = frame.length - at;
  if (at + 2 > frame.length) return undefined;
  const topicBytes = frame.readUInt16BE(at);
  at += 2;
  if (at + topicBytes > frame.length) return undefined;
  const topic = frame.toString('utf8', at, at + topicBytes);
  at += topicBytes;
  let messageId: number | undefined;
  if (qos > 0) {
    if (at + 2 > frame.length) return undefined;
    messageId = frame.readUInt16BE(at);
    at += 2;
  }
  if (version === 5) {
    if (at >= frame.length || frame[at] !== 0) return undefined;
    at++;
  }
  const packet: IPublishPacket = {
    cmd: 'publish',
    retain: (flags & 1) === 1,
    qos: qos as 0 | 1 | 2,
    dup: (flags & 8) === 8,
    length,
    topic,
    // A copy: the engine keeps the body, and a view would keep the whole socket chunk alive.
    payload: Buffer.from(frame.subarray(at)),
  };
  if (messageId !== undefined) packet.messageId = messageId;
  return packet;
}

/** A 4-byte PUBACK or PUBCOMP (the short form: reason code 0), as mqtt-packet's parser gives it. */
export function decodeShortAck(
  frame: Buffer,
  version: 3 | 4 | 5,
): IPubackPacket | IPubcompPacket | undefined {
  if (frame.length !== 4 || frame[1] !== 2) return undefined;
  const cmd = frame[0] === 0x40 ? 'puback' : frame[0] === 0x70 ? 'pubcomp' : undefined;
  if (cmd === undefined) return undefined;
  const packet: IPubackPacket | IPubcompPacket = { cmd, messageId: frame.readUInt16BE(2) };
  if (version === 5) packet.reasonCode = 0;
  return packet;
}
