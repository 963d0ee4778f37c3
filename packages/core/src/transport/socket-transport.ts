/**
 * The thin socket layer under every protocol connection (AMQP and MQTT; TCP, TLS or a WebSocket
 * stream). Three jobs, the same for each door:
 * - one write per event-loop turn: the turn's frames are gathered and handed to the stream together
 *   in setImmediate (a write per delivery costs more than the copy);
 * - reading paused while the bytes waiting for the peer are above a high watermark (a slow reader
 *   slows its own deliveries, not the broker's memory), and the session told of that pressure so
 *   its consumers wait too;
 * - reading paused for any other reason the session names (broker blocked, publish flow, too many
 *   packets waiting), resumed when no reason is left.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface SocketTransportOptions {
  /** Bytes waiting for the peer above which we stop reading from it. Default 1 MiB. */
  writeHighWatermark?: number;
  /** The user name of the TLS socket's verified client certificate. */
  peerIdentity?: string;
  /** The peer's address; default the socket's own (a WebSocket stream has none of its own). */
  remoteAddress?: string;
}

/** The reason `pauseReading` is given while the bytes waiting for the peer are over the high watermark. */
export const WRITE_BUFFER_PAUSE = 'write-buffer';

/** Frames at least this large are written as they are; smaller ones are copied together... */
const LARGE_FRAME = 64 * 1024;
/** ...into buffers of about this size. */
const MAX_RUN = 256 * 1024;
/** A peer that never closes its side of an ended connection is cut off after this. */
const END_TIMEOUT_MS = 5_000;

export class SocketTransport {
  readonly remoteAddress: string | undefined;
  readonly peerIdentity: string | undefined;
  /** Why reading is paused; made on the first pause (an idle connection never has one). */
  #pauses: Set<string> | undefined;
  readonly #highWatermark: number;
  /** This turn's frames, written together by #flush. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #ended = false;
  readonly #flush = (): void => this.#writePending();
  #pressureListener: ((high: boolean) => void) | undefined;

  constructor(
    readonly stream: Duplex,
    options: SocketTransportOptions = {},
  ) {
    this.remoteAddress =
      options.remoteAddress ?? (stream instanceof Socket ? stream.remoteAddress : undefined);
    this.peerIdentity = options.peerIdentity;
    this.#highWatermark = options.writeHighWatermark ?? 1024 * 1024;
    if (stream instanceof Socket) stream.setNoDelay(true);
    stream.on('drain', () => this.resumeReading(WRITE_BUFFER_PAUSE));
  }

  /** Bytes not yet taken by the kernel: this turn's frames plus the stream's own buffer. */
  get bufferedBytes(): number {
    return this.#pendingBytes + this.stream.writableLength;
  }

  /** Ended or destroyed: writes are dropped. */
  get closed(): boolean {
    return this.#ended || this.stream.destroyed || this.stream.writableEnded;
  }

  /** The peer reads slower than we write: the bytes waiting for it are over the high watermark. */
  get congested(): boolean {
    return this.#pauses?.has(WRITE_BUFFER_PAUSE) ?? false;
  }

  write(bytes: Buffer): void {
    if (this.closed) return;
    if (this.#pending.length === 0) setImmediate(this.#flush);
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.byteLength;
    if (this.bufferedBytes > this.#highWatermark) this.pauseReading(WRITE_BUFFER_PAUSE);
  }

  #writePending(): void {
    const list = this.#pending;
    if (list.length === 0) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    const stream = this.stream;
    if (stream.destroyed || stream.writableEnded) return;
    let flushed = true;
    let run: Buffer[] = [];
    let runBytes = 0;
    const writeRun = (): void => {
      if (run.length === 0) return;
      flushed = stream.write(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes)) && flushed;
      run = [];
      runBytes = 0;
    };
    stream.cork();
    for (const bytes of list) {
      // A large frame (a big body) goes as it is rather than being copied once more.
      if (bytes.byteLength >= LARGE_FRAME) {
        writeRun();
        flushed = stream.write(bytes) && flushed;
        continue;
      }
      run.push(bytes);
      runBytes += bytes.byteLength;
      if (runBytes >= MAX_RUN) writeRun();
    }
    writeRun();
    stream.uncork();
    // Paused by our own count while the stream took it all at once: no 'drain' will come.
    if (flushed) this.resumeReading(WRITE_BUFFER_PAUSE);
  }

  /** Sends what is gathered (at once), then closes; later writes are dropped. */
  end(): void {
    if (this.#ended) return;
    this.#writePending();
    this.#ended = true;
    this.stream.end();
    // A peer that never closes its side must not keep the socket forever; once closed, the timer must
    // not keep the socket (and the connection behind its listeners) alive for the rest of the wait.
    const timer = setTimeout(() => this.stream.destroy(), END_TIMEOUT_MS).unref();
    this.stream.once('close', () => clearTimeout(timer));
  }

  destroy(): void {
    this.#ended = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.stream.destroy();
  }

  /** Told when the bytes waiting for the peer cross the high watermark (true) and drain again (false). */
  onWritePressure(listener: (high: boolean) => void): void {
    this.#pressureListener = listener;
  }

  /** Stops reading for one reason; reading resumes when no reason is left. */
  pauseReading(reason: string): void {
    const pauses = (this.#pauses ??= new Set());
    const fresh = !pauses.has(reason);
    pauses.add(reason);
    this.stream.pause();
    if (fresh && reason === WRITE_BUFFER_PAUSE) this.#pressureListener?.(true);
  }

  resumeReading(reason: string): void {
    if (!this.#pauses?.delete(reason)) return;
    if (reason === WRITE_BUFFER_PAUSE) this.#pressureListener?.(false);
    if (this.#pauses.size > 0) return;
    if (!this.stream.destroyed) this.stream.resume();
  }
}
