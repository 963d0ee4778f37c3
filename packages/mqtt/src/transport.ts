import type { Duplex } from 'node:stream';
import { Socket } from 'node:net';

/** Bytes waiting in the socket above which the connection's QoS 0 output stops until 'drain'. */
export const OUTPUT_HIGH_BYTES = 1024 * 1024;

/**
 * The thin socket layer under one MQTT connection (TCP or a WebSocket stream): batches every
 * packet written in one event-loop turn into a single write, and stops reading while the
 * socket's write buffer is full or while someone (the broker's memory alarm) asks it to.
 */
export class Transport {
  #out: Buffer[] = [];
  #flushScheduled = false;
  #pausedBy = new Set<'backpressure' | 'blocked' | 'busy'>();
  #closed = false;
  #congested = false;
  /** Told when the socket's write buffer goes over OUTPUT_HIGH_BYTES (true) and when it drained (false). */
  onCongestion: ((congested: boolean) => void) | undefined;

  constructor(
    readonly stream: Duplex,
    readonly remoteAddress: string,
    /** The user name a verified TLS client certificate carries; undefined without one. */
    readonly peerIdentity?: string,
  ) {
    if (stream instanceof Socket) stream.setNoDelay(true);
    stream.on('drain', () => {
      this.resume('backpressure');
      if (this.#congested) {
        this.#congested = false;
        this.onCongestion?.(false);
      }
    });
  }

  /** The peer reads slower than we write: more than OUTPUT_HIGH_BYTES wait in the socket. */
  get congested(): boolean {
    return this.#congested;
  }

  get closed(): boolean {
    return this.#closed || this.stream.destroyed;
  }

  write(bytes: Buffer): void {
    if (this.closed) return;
    this.#out.push(bytes);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.closed || this.#out.length === 0) return;
    const data = this.#out.length === 1 ? this.#out[0]! : Buffer.concat(this.#out);
    this.#out = [];
    if (this.stream.write(data)) return;
    this.pause('backpressure');
    if (!this.#congested && this.stream.writableLength > OUTPUT_HIGH_BYTES) {
      this.#congested = true;
      this.onCongestion?.(true);
    }
  }

  pause(reason: 'backpressure' | 'blocked' | 'busy'): void {
    this.#pausedBy.add(reason);
    this.stream.pause();
  }

  resume(reason: 'backpressure' | 'blocked' | 'busy'): void {
    this.#pausedBy.delete(reason);
    if (this.#pausedBy.size === 0 && !this.closed) this.stream.resume();
  }

  /** Sends what is queued (synchronously), then closes. */
  end(): void {
    if (this.#closed) return;
    this.#flushScheduled = false;
    const data = Buffer.concat(this.#out);
    this.#out = [];
    this.#closed = true;
    if (data.length > 0 && !this.stream.destroyed) this.stream.end(data);
    else this.stream.end();
    // A peer that never reads must not keep the socket open.
    setTimeout(() => this.stream.destroy(), 2000).unref();
  }

  destroy(): void {
    this.#closed = true;
    this.#out = [];
    this.stream.destroy();
  }
}
