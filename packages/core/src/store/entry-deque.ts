import type { QueueEntry } from './queue-entry.js';

/** Growable ring buffer: O(1) push at the back and shift at the front, no Array#shift. */
export class EntryDeque {
  private ring: (QueueEntry | undefined)[] = new Array<QueueEntry | undefined>(16);
  private head = 0;
  private length = 0;

  get size(): number {
    return this.length;
  }

  push(entry: QueueEntry): void {
    if (this.length === this.ring.length) this.grow();
    this.ring[(this.head + this.length) & (this.ring.length - 1)] = entry;
    this.length++;
  }

  peekFront(): QueueEntry | undefined {
    return this.length === 0 ? undefined : this.ring[this.head];
  }

  shift(): QueueEntry | undefined {
    if (this.length === 0) return undefined;
    const entry = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) & (this.ring.length - 1);
    this.length--;
    return entry;
  }

  clear(): void {
    this.ring = new Array<QueueEntry | undefined>(16);
    this.head = 0;
    this.length = 0;
  }

  private grow(): void {
    const old = this.ring;
    const next = new Array<QueueEntry | undefined>(old.length * 2);
    for (let i = 0; i < this.length; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.ring = next;
    this.head = 0;
  }
}
