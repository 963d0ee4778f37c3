/**
 * The thin socket layer: TCP_NODELAY, one write per event-loop turn (the turn's frames gathered and
 * handed to the socket as one buffer in setImmediate: a socket.write per delivery costs more than the
 * copy), and reading paused while the bytes queued for the socket are above a high watermark (a slow
 * reader slows its own deliveries, not the broker's memory) or while the session asks (broker blocked,
 * publish flow).
 */
import type { Socket } from 'node:net';
import type { Transport } from '../session/connection-state.js';

export interface SocketTransportOptions {
  /** Bytes queued for the socket above which we stop reading from it. Default 1 MiB. */
  writeHighWatermark?: number;
  /** The user name of the TLS socket's verified client certificate (SASL EXTERNAL). */
  peerIdentity?: string;
}

/** Frames at least this large are written as they are; smaller ones are copied together... */
const LARGE_FRAME = 64 * 1024;
/** ...into buffers of about this size. */
const MAX_RUN = 256 * 1024;

export class SocketTransport implements Transport {
  readonly remoteAddress: string | undefined;
  readonly peerIdentity: string | undefined;
  readonly #pauses = new Set<string>();
  readonly #highWatermark: number;
  /** This turn's frames, written together by #flush. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  readonly #flush = (): void => this.#writePending();
  #pressureListener: ((high: boolean) => void) | undefined;

  constructor(
    private readonly socket: Socket,
    options: SocketTransportOptions = {},
  ) {
    this.remoteAddress = socket.remoteAddress;
    this.peerIdentity = options.peerIdentity;
    this.#highWatermark = options.writeHighWatermark ?? 1024 * 1024;
    socket.setNoDelay(true);
    socket.on('drain', () => this.resumeReading('write-buffer'));
  }

  /** Bytes not yet taken by the kernel: this turn's frames plus the socket's own buffer. */
  get bufferedBytes(): number {
    return this.#pendingBytes + this.socket.writableLength;
  }

  write(bytes: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    if (this.#pending.length === 0) setImmediate(this.#flush);
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.byteLength;
    if (this.bufferedBytes > this.#highWatermark) this.pauseReading('write-buffer');
  }

  #writePending(): void {
    const list = this.#pending;
    if (list.length === 0) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    let flushed = true;
    let run: Buffer[] = [];
    let runBytes = 0;
    const writeRun = (): void => {
      if (run.length === 0) return;
      flushed = socket.write(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes)) && flushed;
      run = [];
      runBytes = 0;
    };
    socket.cork();
    for (const bytes of list) {
      // A large frame (a big body) goes as it is rather than being copied once more.
      if (bytes.byteLength >= LARGE_FRAME) {
        writeRun();
        flushed = socket.write(bytes) && flushed;
        continue;
      }
      run.push(bytes);
      runBytes += bytes.byteLength;
      if (runBytes >= MAX_RUN) writeRun();
    }
    writeRun();
    socket.uncork();
    // Paused by our own count while the socket took it all at once: no 'drain' will come.
    if (flushed) this.resumeReading('write-buffer');
  }

  end(): void {
    this.#writePending();
    this.socket.end();
    // A peer that never closes its side must not keep the socket forever; once closed, the timer must
    // not keep the socket (and the connection behind its listeners) alive for the rest of the 5 s.
    const timer = setTimeout(() => this.socket.destroy(), 5_000).unref();
    this.socket.once('close', () => clearTimeout(timer));
  }

  destroy(): void {
    this.socket.destroy();
  }

  onWritePressure(listener: (high: boolean) => void): void {
    this.#pressureListener = listener;
  }

  pauseReading(reason: string): void {
    const fresh = !this.#pauses.has(reason);
    this.#pauses.add(reason);
    this.socket.pause();
    if (fresh && reason === 'write-buffer') this.#pressureListener?.(true);
  }

  resumeReading(reason: string): void {
    if (!this.#pauses.delete(reason)) return;
    if (reason === 'write-buffer') this.#pressureListener?.(false);
    if (this.#pauses.size > 0) return;
    if (!this.socket.destroyed) this.socket.resume();
  }
}
