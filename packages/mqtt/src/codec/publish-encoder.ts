import type { IPublishPacket, Packet } from 'mqtt-packet';

/**
 * Encodes a PUBLISH without MQTT 5 properties straight into one buffer: the hot path of every
 * delivery. mqtt-packet's `generate` builds an EventEmitter and a chunk list per packet, which
 * showed in the CPU profile; its output is byte for byte the same (see packages/mqtt/test/publish-encoder.test.ts).
 * Returns undefined for anything else (the caller falls back to `generate`).
 */
export function encodePublish(packet: IPublishPacket, version: 3 | 4 | 5): Buffer | undefined {
  if (packet.properties !== undefined && Object.keys(packet.properties).length > 0) return undefined;
  const { topic, qos } = packet;
  const payload = packet.payload;
  if (typeof topic !== 'string' || !Buffer.isBuffer(payload)) return undefined;
  if (qos > 0 && typeof packet.messageId !== 'number') return undefined;
  const topicBytes = Buffer.byteLength(topic);
  const remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) + payload.length;
  if (remaining > 268_435_455 || topicBytes > 65_535) return undefined;
  let lengthBytes = 1;
  for (let n = remaining; n >= 128; n = Math.floor(n / 128)) lengthBytes++;
  const out = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  out[0] = 0x30 | (packet.dup ? 0x08 : 0) | (qos << 1) | (packet.retain ? 0x01 : 0);
  let at = 1;
  let n = remaining;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out[at++] = byte;
  } while (n > 0);
  out.writeUInt16BE(topicBytes, at);
  at += 2;
  at += out.write(topic, at, 'utf8');
  if (qos > 0) {
    out.writeUInt16BE(packet.messageId!, at);
    at += 2;
  }
  if (version === 5) out[at++] = 0; // property length 0
  payload.copy(out, at);
  return out;
}

const ACK_HEADERS = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;

/**
 * PUBACK / PUBREC / PUBREL / PUBCOMP with reason code 0 and no properties: the 4-byte short form
 * (the same bytes mqtt-packet writes in 3.1.1 and in 5.0 for reason 0). Undefined for anything else.
 */
export function encodeAck(packet: Packet): Buffer | undefined {
  if (
    packet.cmd !== 'puback' &&
    packet.cmd !== 'pubrec' &&
    packet.cmd !== 'pubrel' &&
    packet.cmd !== 'pubcomp'
  )
    return undefined;
  const id = packet.messageId;
  if (typeof id !== 'number' || (packet.reasonCode ?? 0) !== 0 || packet.properties !== undefined)
    return undefined;
  return Buffer.from([ACK_HEADERS[packet.cmd], 2, id >> 8, id & 0xff]);
}
