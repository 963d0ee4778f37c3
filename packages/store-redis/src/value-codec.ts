/**
 * JSON with the values message headers and metadata may carry and plain JSON loses:
 * byte arrays, bigints, dates. Tagged as one-key objects (`{"$b":base64}`, `{"$n":"123"}`,
 * `{"$d":iso}`); a real object with a single `$b`/`$n`/`$d`/`$o` key is wrapped in `{"$o":…}`.
 *
 * Nearly every value (a message's properties) holds none of these. A replacer or reviver takes
 * V8 off its fast JSON path (a call per key), so such a value, found by a bounded scan, is
 * written by plain `JSON.stringify`; a text is read by plain `JSON.parse`, then walked for tags
 * only when it holds a `"$`.
 */
const TAGS = new Set(['$b', '$n', '$d', '$o']);
/** Deeper than this, the scan gives up and the tagged path decides. */
const PLAIN_DEPTH = 8;

/** Whether an object of these own keys has a tag's shape: exactly one key, and that one a tag. */
function isTagKeys(keys: readonly string[]): boolean {
  return keys.length === 1 && TAGS.has(keys[0] as string);
}

function isTagLike(value: object): boolean {
  return isTagKeys(Object.keys(value));
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

/**
 * The tags in a parsed value replaced by what they stand for, outside in: the content of a `$o`
 * wrapper is data however it looks, while its members are read as usual. (A `JSON.parse`
 * reviver works inside out and so cannot tell a wrapper inside a wrapped object from data.)
 */
function revive(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return reviveMembers(value);
  const tagged = value as Record<string, unknown>;
  if (isTagLike(tagged)) {
    if (typeof tagged.$b === 'string') return Buffer.from(tagged.$b, 'base64');
    if (typeof tagged.$n === 'string') return BigInt(tagged.$n);
    if (typeof tagged.$d === 'string') return new Date(tagged.$d);
    if ('$o' in tagged) {
      const data = tagged.$o;
      return data !== null && typeof data === 'object' ? reviveMembers(data) : data;
    }
  }
  return reviveMembers(tagged);
}

function reviveMembers<T extends object>(value: T): T {
  const members = value as Record<string, unknown>;
  for (const key of Object.keys(members)) {
    const member = members[key];
    const revived = revive(member);
    // defineProperty: an own "__proto__" key (JSON.parse makes one) must stay a key.
    if (revived !== member)
      Object.defineProperty(members, key, {
        value: revived,
        writable: true,
        enumerable: true,
        configurable: true,
      });
  }
  return value;
}

/**
 * Whether the replacer would leave every part of `value` as it is: no bigint, byte array or
 * other typed view, date, `toJSON` (whose result the replacer sees) or tag-like object.
 */
function isPlain(value: unknown, depth: number): boolean {
  if (typeof value === 'bigint') return false;
  if (value === null || typeof value !== 'object') return true;
  if (depth > PLAIN_DEPTH || ArrayBuffer.isView(value) || value instanceof Date) return false;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(value)) return value.every((item) => isPlain(item, depth + 1));
  const keys = Object.keys(value);
  if (isTagKeys(keys)) return false;
  for (const key of keys) if (!isPlain((value as Record<string, unknown>)[key], depth + 1)) return false;
  return true;
}

export function encodeValue(value: unknown): string {
  if (isPlain(value, 0)) return JSON.stringify(value) ?? 'null';
  wrapped = new WeakSet();
  return JSON.stringify(value, replacer) ?? 'null';
}

export function decodeValue(text: string): unknown {
  const value = JSON.parse(text) as unknown;
  // Every tag is a key, written `"$…"`; an escaped `$` (`\u0024`) comes from no encoder of ours
  // but would hide one, so text with any `\u` escape is walked too.
  if (!text.includes('"$') && !text.includes('\\u')) return value;
  return revive(value);
}
