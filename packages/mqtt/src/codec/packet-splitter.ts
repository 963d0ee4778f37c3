/**
 * Cuts the byte stream into whole MQTT packets from their fixed headers, so an oversized packet is
 * refused from its header alone, before its body is buffered [MQTT-3.1.2-24 server side, 5.0
 * reason 0x95], and so whole packets can be decoded without a streaming parser.
 */
export class PacketSplitter {
  /** Bytes of an incomplete packet, waiting for the rest. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Size of the incomplete packet once its header is known, else 0. */
  #needed = 0;

  constructor(public maxPacketBytes: number) {}

  /** Calls `onPacket` with each whole packet in order; stops at the first bad header. */
  push(chunk: Buffer, onPacket: (frame: Buffer) => void): 'ok' | 'too-large' | 'malformed' {
    let buf = chunk;
    if (this.#pendingBytes > 0) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (this.#needed > this.#pendingBytes) return 'ok';
      buf = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    this.#needed = 0;
    let at = 0;
    while (at < buf.length) {
      let remaining = 0;
      let multiplier = 1;
      let i = at + 1;
      let known = false;
      for (; i < buf.length && i <= at + 4; i++) {
        const byte = buf[i]!;
        remaining += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          known = true;
          break;
        }
      }
      if (!known) {
        if (i > at + 4) return 'malformed'; // a remaining length of more than 4 bytes
        break;
      }
      const total = i + 1 - at + remaining;
      if (total > this.maxPacketBytes) return 'too-large';
      if (at + total > buf.length) {
        this.#needed = total;
        break;
      }
      onPacket(buf.subarray(at, at + total));
      at += total;
    }
    if (at < buf.length) {
      this.#pending = [buf.subarray(at)];
      this.#pendingBytes = buf.length - at;
    }
    return 'ok';
  }
}
