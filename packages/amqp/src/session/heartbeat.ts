/**
 * Heartbeats for one connection: send one whenever we were quiet for half the interval, and declare the
 * peer dead after two intervals without a byte from it (RabbitMQ's rule).
 */
export class Heartbeat {
  #lastReceived = Date.now();
  #lastSent = Date.now();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sendHeartbeat: () => void,
    private readonly onDeadPeer: () => void,
  ) {}

  received(): void {
    this.#lastReceived = Date.now();
  }

  sent(): void {
    this.#lastSent = Date.now();
  }

  start(seconds: number): void {
    if (seconds <= 0) return;
    const ms = seconds * 1000;
    this.#lastReceived = Date.now();
    this.#timer = setInterval(() => {
      const now = Date.now();
      if (now - this.#lastReceived > 2 * ms) return this.onDeadPeer();
      if (now - this.#lastSent >= ms / 2) this.sendHeartbeat();
    }, ms / 2).unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
