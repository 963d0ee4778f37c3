import type { QueueEntry } from './queue-entry.js';

/**
 * Binary min-heap of entries by (heapKey, seq), storing each entry's slot in `heapIndex` so an
 * entry can be removed or re-keyed in O(log n). An entry is in at most one heap at a time.
 */
export class EntryHeap {
  private items: QueueEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): QueueEntry | undefined {
    return this.items[0];
  }

  push(entry: QueueEntry, key: number): void {
    entry.heapKey = key;
    entry.heapIndex = this.items.length;
    this.items.push(entry);
    this.up(entry.heapIndex);
  }

  pop(): QueueEntry | undefined {
    const items = this.items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop() as QueueEntry;
    if (last !== top) {
      items[0] = last;
      last.heapIndex = 0;
      this.down(0);
    }
    top.heapIndex = -1;
    return top;
  }

  remove(entry: QueueEntry): void {
    const items = this.items;
    const i = entry.heapIndex;
    if (i < 0 || items[i] !== entry) return;
    const last = items.pop() as QueueEntry;
    if (last !== entry) {
      items[i] = last;
      last.heapIndex = i;
      this.down(i);
      this.up(last.heapIndex);
    }
    entry.heapIndex = -1;
  }

  rekey(entry: QueueEntry, key: number): void {
    entry.heapKey = key;
    this.down(entry.heapIndex);
    this.up(entry.heapIndex);
  }

  clear(): QueueEntry[] {
    const items = this.items;
    this.items = [];
    for (const e of items) e.heapIndex = -1;
    return items;
  }

  /** The entries in no particular order (for scans that sort afterwards). */
  values(): readonly QueueEntry[] {
    return this.items;
  }

  private static less(a: QueueEntry, b: QueueEntry): boolean {
    return a.heapKey < b.heapKey || (a.heapKey === b.heapKey && a.seq < b.seq);
  }

  private up(i: number): void {
    const items = this.items;
    const entry = items[i] as QueueEntry;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex] as QueueEntry;
      if (!EntryHeap.less(entry, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const entry = items[i] as QueueEntry;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let child = items[l] as QueueEntry;
      let ci = l;
      if (r < n && EntryHeap.less(items[r] as QueueEntry, child)) {
        child = items[r] as QueueEntry;
        ci = r;
      }
      if (!EntryHeap.less(child, entry)) break;
      items[i] = child;
      child.heapIndex = i;
      i = ci;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }
}
