import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

interface SequenceState {
  /** Random, made once per state file: ids of one bridge never collide with another's. */
  nonce: string;
  /** QoS 1 messages of this session acked to the source broker so far. */
  committed: number;
}

/**
 * Ids for MQTT messages that carry none (MQTT 3.1.1, or 5.0 without `conveyor-message-id`).
 *
 * The source broker resends unacknowledged QoS 1 messages of a persistent session first and in
 * order, and the bridge acknowledges strictly in order, so the n-th QoS 1 message of the session
 * is the same message whether it arrives the first time or again after a crash. Its id is a hash
 * of (nonce, n, topic, payload); `committed` is written to the state file *before* the PUBACKs it
 * covers are sent, so a crash can only make the bridge number a message again as it did before
 * (same id: Conveyor removes the duplicate), never skip a number. Without a state file the nonce is
 * per process: nothing is lost, but duplicates after a restart keep different ids.
 */
export class MqttSequence {
  #state: SequenceState;
  #next: number;
  #writing: Promise<void> = Promise.resolve();
  #scheduled: Promise<void> | undefined;
  #halted = false;

  private constructor(
    private readonly file: string | undefined,
    state: SequenceState,
  ) {
    this.#state = state;
    this.#next = state.committed;
  }

  static async load(file: string | undefined): Promise<MqttSequence> {
    if (file === undefined)
      return new MqttSequence(undefined, { nonce: randomBytes(8).toString('hex'), committed: 0 });
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<SequenceState>;
      if (typeof parsed.nonce === 'string' && typeof parsed.committed === 'number')
        return new MqttSequence(file, { nonce: parsed.nonce, committed: parsed.committed });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const sequence = new MqttSequence(file, { nonce: randomBytes(8).toString('hex'), committed: 0 });
    await sequence.#write(sequence.#state);
    return sequence;
  }

  /** A new connection: numbering restarts after the last committed message (the broker resends the rest). */
  resume(): void {
    this.#next = this.#state.committed;
  }

  /** The id of the next QoS 1 message of the session. */
  next(topic: string, payload: Uint8Array): string {
    const n = this.#next++;
    const hash = createHash('sha256')
      .update(`${this.#state.nonce}\u0000${n}\u0000${topic}\u0000`)
      .update(payload)
      .digest('base64url')
      .slice(0, 27);
    return `mqtt-${hash}`;
  }

  /**
   * Records `count` more messages as acknowledged; resolves once that is on disk. Commits made
   * while a write is under way share the next write (one file write per burst, not per message).
   */
  commit(count: number): Promise<void> {
    this.#state = { ...this.#state, committed: this.#state.committed + count };
    if (this.#scheduled === undefined) {
      this.#scheduled = this.#writing.then(() => {
        this.#scheduled = undefined;
        return this.#write({ ...this.#state });
      });
      this.#writing = this.#scheduled;
    }
    return this.#scheduled;
  }

  /** Writes nothing more (an aborted source: what a crash leaves is what is on disk). */
  halt(): void {
    this.#halted = true;
  }

  async #write(state: SequenceState): Promise<void> {
    if (this.file === undefined || this.#halted) return;
    await mkdir(dirname(this.file), { recursive: true });
    const temp = `${this.file}.tmp`;
    await writeFile(temp, JSON.stringify(state), { flush: true });
    if (this.#halted) return; // a crash at this point would leave the old count: so does abort
    await rename(temp, this.file);
  }
}
