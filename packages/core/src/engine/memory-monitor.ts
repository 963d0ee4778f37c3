import { EventEmitter } from 'node:events';

export interface MemoryMonitorOptions {
  /** Above this many message bytes held, publishers must wait. */
  highWatermarkBytes: number;
  /** Publishers may go on again below this. Default 80% of the high watermark. */
  lowWatermarkBytes?: number;
  /**
   * False when messages live outside this process (a shared store such as Redis): then this
   * node holds none of them, and a node that only publishes must not count what others ack.
   * Default true.
   */
  messagesInProcess?: boolean;
}

/**
 * Tracks the message bytes the engine holds and raises a "publishers must wait" signal between
 * two watermarks (hysteresis, so the signal does not flap). Protocol servers act on it:
 * AMQP sends connection.blocked, MQTT holds each connection at its next PUBLISH.
 */
export class MemoryMonitor extends EventEmitter<{ blocked: [bytes: number]; unblocked: [bytes: number] }> {
  #bytes = 0;
  #blocked = false;
  readonly high: number;
  readonly low: number;
  readonly #counts: boolean;

  constructor(options: MemoryMonitorOptions) {
    super();
    this.high = options.highWatermarkBytes;
    this.low = options.lowWatermarkBytes ?? Math.floor(options.highWatermarkBytes * 0.8);
    this.#counts = options.messagesInProcess ?? true;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get blocked(): boolean {
    return this.#blocked;
  }

  add(bytes: number): void {
    if (!this.#counts) return;
    this.#bytes += bytes;
    if (!this.#blocked && this.#bytes >= this.high) {
      this.#blocked = true;
      this.emit('blocked', this.#bytes);
    }
  }

  remove(bytes: number): void {
    this.#bytes = Math.max(0, this.#bytes - bytes);
    if (this.#blocked && this.#bytes < this.low) {
      this.#blocked = false;
      this.emit('unblocked', this.#bytes);
    }
  }
}
