/**
 * JSON with the values message headers and metadata may carry and plain JSON loses:
 * byte arrays, bigints, dates. Tagged as one-key objects (`{"$b":base64}`, `{"$n":"123"}`,
 * `{"$d":iso}`); a real object with a single `$b`/`$n`/`$d`/`$o` key is wrapped in `{"$o":…}`.
 */
const TAGS = new Set(['$b', '$n', '$d', '$o']);

function isTagLike(value: object): boolean {
  const keys = Object.keys(value);
  return keys.length === 1 && TAGS.has(keys[0] as string);
}

/** Objects already wrapped in `$o`: their own keys are data, not tags. */
let wrapped = new WeakSet<object>();

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Uint8Array)
    return { $b: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
  if (typeof raw === 'bigint') return { $n: raw.toString() };
  if (raw instanceof Date) return { $d: raw.toISOString() };
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    isTagLike(value) &&
    !wrapped.has(value)
  ) {
    wrapped.add(value);
    return { $o: value };
  }
  return value;
}

function reviver(this: unknown, key: string, value: unknown): unknown {
  // The object inside a `$o` wrapper is data even when it looks like a tag.
  if (key === '$o' && typeof this === 'object' && this !== null && isTagLike(this)) return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !isTagLike(value)) return value;
  const tagged = value as Record<string, unknown>;
  if (typeof tagged.$b === 'string') return Buffer.from(tagged.$b, 'base64');
  if (typeof tagged.$n === 'string') return BigInt(tagged.$n);
  if (typeof tagged.$d === 'string') return new Date(tagged.$d);
  if ('$o' in tagged) return tagged.$o;
  return value;
}

export function encodeValue(value: unknown): string {
  wrapped = new WeakSet();
  return JSON.stringify(value, replacer) ?? 'null';
}

export function decodeValue(text: string): unknown {
  return JSON.parse(text, reviver) as unknown;
}
