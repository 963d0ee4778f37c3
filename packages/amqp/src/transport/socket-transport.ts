/**
 * The thin socket layer: TCP_NODELAY, one write per event-loop turn (cork now, uncork in setImmediate),
 * and reading paused while the socket's write buffer is above a high watermark (a slow reader slows its
 * own deliveries, not the broker's memory) or while the session asks (broker blocked, publish flow).
 */
import type { Socket } from 'node:net';
import type { Transport } from '../session/connection-state.js';

export interface SocketTransportOptions {
  /** Bytes queued for the socket above which we stop reading from it. Default 1 MiB. */
  writeHighWatermark?: number;
}

export class SocketTransport implements Transport {
  readonly remoteAddress: string | undefined;
  readonly #pauses = new Set<string>();
  readonly #highWatermark: number;
  #corked = false;

  constructor(
    private readonly socket: Socket,
    options: SocketTransportOptions = {},
  ) {
    this.remoteAddress = socket.remoteAddress;
    this.#highWatermark = options.writeHighWatermark ?? 1024 * 1024;
    socket.setNoDelay(true);
    socket.on('drain', () => this.resumeReading('write-buffer'));
  }

  write(bytes: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.#corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bytes);
    if (this.socket.writableLength > this.#highWatermark) this.pauseReading('write-buffer');
  }

  end(): void {
    if (this.#corked) {
      this.#corked = false;
      this.socket.uncork();
    }
    this.socket.end();
    // A peer that never closes its side must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 5_000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  pauseReading(reason: string): void {
    this.#pauses.add(reason);
    this.socket.pause();
  }

  resumeReading(reason: string): void {
    if (!this.#pauses.delete(reason) || this.#pauses.size > 0) return;
    if (!this.socket.destroyed) this.socket.resume();
  }
}
