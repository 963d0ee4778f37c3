/**
 * Watches the byte stream for MQTT fixed headers so an oversized packet is refused from its
 * header alone, before its body is buffered [MQTT-3.1.2-24 server side, 5.0 reason 0x95].
 */
export class FrameGuard {
  /** Bytes of the current packet still to skip (its body). */
  #bodyLeft = 0;
  /** Fixed-header bytes seen so far of the next packet. */
  #header: number[] = [];

  constructor(public maxPacketBytes: number) {}

  /** Returns the size of the first packet over the limit, or 0 when every header in `chunk` is fine. */
  check(chunk: Uint8Array): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.#bodyLeft > 0) {
        const skip = Math.min(this.#bodyLeft, chunk.length - i);
        this.#bodyLeft -= skip;
        i += skip;
        continue;
      }
      this.#header.push(chunk[i++]!);
      if (this.#header.length < 2) continue;
      const last = this.#header[this.#header.length - 1]!;
      if (last & 0x80) {
        if (this.#header.length >= 5) return Number.POSITIVE_INFINITY; // malformed length: let it be refused
        continue;
      }
      let remaining = 0;
      for (let k = this.#header.length - 1; k >= 1; k--)
        remaining = remaining * 128 + (this.#header[k]! & 0x7f);
      const total = this.#header.length + remaining;
      this.#header = [];
      if (total > this.maxPacketBytes) return total;
      this.#bodyLeft = remaining;
    }
    return 0;
  }
}
