/**
 * Fast paths for the short strings that fill AMQP frames (exchange names, routing keys, consumer tags,
 * header keys, content types). They repeat endlessly, and crossing into C++ for each one (`toString`,
 * `write`) dominates the cost of decoding a basic.publish, so:
 * - decoding goes through a small direct-mapped cache keyed by the bytes (verified byte for byte);
 * - encoding writes ASCII with a plain loop, falling back to `Buffer#write` for anything else.
 */
const SLOTS = 4096; // power of two
const CACHEABLE = 48;
const slotBytes: (Uint8Array | null)[] = new Array<Uint8Array | null>(SLOTS).fill(null);
const slotStrings: string[] = new Array<string>(SLOTS).fill('');

/** UTF-8 decode of `buf[start, start + len)`, memoised for short strings. */
export function decodeShortString(buf: Buffer, start: number, len: number): string {
  if (len > CACHEABLE) return buf.toString('utf8', start, start + len);
  let h = len;
  for (let i = start; i < start + len; i++) h = (Math.imul(h, 31) + buf[i]!) | 0;
  const slot = (h ^ (h >>> 12)) & (SLOTS - 1);
  const known = slotBytes[slot];
  if (known !== null && known !== undefined && known.length === len) {
    let i = 0;
    while (i < len && known[i] === buf[start + i]) i++;
    if (i === len) return slotStrings[slot]!;
  }
  const s = buf.toString('utf8', start, start + len);
  // A copy, so the cache never pins a socket chunk.
  slotBytes[slot] = Uint8Array.prototype.slice.call(buf, start, start + len);
  slotStrings[slot] = s;
  return s;
}

/** UTF-8 byte length of `s`: its length when ASCII (checked in JS), else `Buffer.byteLength`. */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n > CACHEABLE) return Buffer.byteLength(s, 'utf8');
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return n;
}

/** Write `s` (whose UTF-8 length is `byteLength`) at `off`; returns the offset after it. */
export function writeUtf8(buf: Buffer, off: number, s: string, byteLength: number): number {
  if (byteLength === s.length && byteLength <= CACHEABLE) {
    for (let i = 0; i < byteLength; i++) buf[off + i] = s.charCodeAt(i);
    return off + byteLength;
  }
  return off + buf.write(s, off, byteLength, 'utf8');
}
