import type { QueueKey } from '@conveyor/core';
import { packRecord, legacyRowToMessage } from './record-codec.js';
import type { RedisCalls } from './redis-calls.js';

/**
 * Brings each queue of format 3 to format 4: its meta hash (a value for every message) gets the
 * pad field that `hasMeta` counts on (prelude.ts), its per-holder sets of held ids become counts.
 * Safe to run again and beside another node doing the same.
 */
export async function fromFormat3(calls: RedisCalls, queues: readonly QueueKey[]): Promise<void> {
  for (const queue of queues) await calls.script('fromFormat3', queue, []);
}

/** Records converted per script call. */
const CHUNK = 200;

/**
 * Moves the records of stores written by formats 1 and 2 (a hash per message: `v s c r`, or
 * format 1's `e k p b t x r c d s`) into each queue's `records` and `meta` hashes (format 3).
 * Safe to run again and beside another node doing the same: a record already moved is skipped.
 * Returns how many records were moved.
 */
export async function upgradeRecords(calls: RedisCalls, queues: readonly QueueKey[]): Promise<number> {
  let moved = 0;
  for (const queue of queues) {
    const ids = (await calls.script('legacyRecordIds', queue, [])) as string[];
    const base = calls.keys.queueBase(queue);
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      const hashes = await Promise.all(
        part.map((id) => calls.guard(calls.redis.hgetallBuffer(`${base}m:${id}`))),
      );
      const args: (string | Buffer)[] = [];
      part.forEach((id, j) => {
        const fields = hashes[j] ?? {};
        if (Object.keys(fields).length > 0) args.push(id, ...converted(id, fields));
      });
      if (args.length > 0) moved += Number(await calls.script('adoptRecords', queue, args));
    }
  }
  return moved;
}

/** One legacy record hash as [packed record, meta value] (see prelude.ts). */
function converted(id: string, f: Record<string, Buffer>): [Buffer, string] {
  const text = (name: string) => f[name]?.toString() ?? '';
  let packed = f.v;
  if (packed === undefined) {
    const m = legacyRowToMessage(
      [Buffer.from(id), f.e, f.k, f.p, f.b, f.t, f.x, f.r, f.c, f.d].map((b) => b ?? null),
    );
    packed = packRecord({
      message: m.message,
      enqueuedAt: m.enqueuedAt,
      ...(m.expiresAt === undefined ? {} : { expiresAt: m.expiresAt }),
      durable: m.durable,
    });
  }
  const readyAt = text('r');
  const meta = `${text('s') || '0'} ${text('c') || '0'}${readyAt === '' ? '' : ` ${readyAt}`}`;
  return [packed, meta];
}
