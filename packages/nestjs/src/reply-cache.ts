import type { OutboundMessage } from './link/link.js';

/**
 * The core's responder rule, kept by the transport so it holds in every mode: a handler runs at
 * most once per correlation id within a window; a resend waits for (or gets) the first result.
 */
export class ReplyCache {
  readonly #entries = new Map<string, { reply: Promise<OutboundMessage>; at: number }>();

  constructor(private readonly windowMs: number) {}

  /** The remembered reply of `correlationId`, or `produce()`'s, remembered. */
  replyFor(
    correlationId: string | undefined,
    produce: () => Promise<OutboundMessage>,
  ): Promise<OutboundMessage> {
    if (correlationId === undefined) return produce();
    this.#prune();
    const known = this.#entries.get(correlationId);
    if (known) return known.reply;
    const reply = produce();
    this.#entries.set(correlationId, { reply, at: Date.now() });
    // A reply that could not even be produced is not remembered: a resend tries again.
    reply.catch(() => this.#entries.delete(correlationId));
    return reply;
  }

  #prune(): void {
    const cutoff = Date.now() - this.windowMs;
    for (const [id, entry] of this.#entries) {
      if (entry.at >= cutoff) break; // insertion order = age order
      this.#entries.delete(id);
    }
  }
}
