import { randomBytes } from 'node:crypto';
import type { MessageStore } from '@conveyor/core';
import { type ErrorReport, reported } from './background.js';

const TAKEOVER = 'mqtt-takeover';
const RELEASED = 'mqtt-released';

/** How long a connecting node waits for the node that had the session to let go of it. */
export const TAKEOVER_WAIT_MS = 2_000;

interface TakeoverNote {
  vhost: string;
  clientId: string;
  /** The node the client connected to. */
  from: string;
  /** The node the session record names: it answers when it has let go. */
  target?: string;
  ref: string;
}

/**
 * Shared store: client-id takeover across nodes. A node where a client connects tells every node
 * (`signal`); each one that has a session with that client id gives it up, and the node the
 * session record names answers once it has, so the new node can use the session's queues.
 * Notes are at most once: the wait is bounded, and what a node still holds comes back anyway
 * when it lets go or dies (at least once).
 */
export class TakeoverChannel {
  readonly #pending = new Map<string, () => void>();
  readonly #unsubscribe: (() => void)[] = [];

  constructor(
    private readonly store: MessageStore,
    private readonly vhost: string,
    report: ErrorReport,
    /** A client connected somewhere (`fromHere`: on this node): give up what this node has of it. */
    onTakeover: (clientId: string, fromHere: boolean) => Promise<void>,
  ) {
    const cluster = store.cluster;
    if (!cluster) return;
    const nodeId = cluster.nodeId;
    this.#unsubscribe.push(
      cluster.onSignal(TAKEOVER, (payload) => {
        const note = parse(payload);
        if (!note || note.vhost !== vhost) return;
        const fromHere = note.from === nodeId;
        // Released even when giving the session up failed (reported): the claimant must not wait for ever.
        void reported(onTakeover(note.clientId, fromHere), report).then(() =>
          note.target === nodeId && !fromHere
            ? reported(cluster.signal(RELEASED, note.ref), report)
            : undefined,
        );
      }),
      cluster.onSignal(RELEASED, (ref) => this.#pending.get(ref)?.()),
    );
  }

  /**
   * Tells every node that `clientId` connected here. With `holder` (the node its session record
   * names), waits until that node let go of it, at most `waitMs`.
   */
  async claim(clientId: string, holder: string | undefined, waitMs = TAKEOVER_WAIT_MS): Promise<void> {
    const ref = randomBytes(9).toString('base64url');
    const note: TakeoverNote = {
      vhost: this.vhost,
      clientId,
      from: this.store.cluster?.nodeId ?? '',
      ref,
      ...(holder === undefined ? {} : { target: holder }),
    };
    let timer: NodeJS.Timeout | undefined;
    const released =
      holder === undefined
        ? undefined
        : new Promise<void>((resolve) => {
            this.#pending.set(ref, resolve);
            timer = setTimeout(resolve, waitMs);
          });
    try {
      await this.store.cluster?.signal(TAKEOVER, JSON.stringify(note));
      await released;
    } finally {
      clearTimeout(timer);
      this.#pending.delete(ref);
    }
  }

  close(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
    for (const resolve of this.#pending.values()) resolve();
    this.#pending.clear();
  }
}

function parse(payload: string): TakeoverNote | undefined {
  try {
    const note = JSON.parse(payload) as Partial<TakeoverNote>;
    if (typeof note.clientId !== 'string' || typeof note.vhost !== 'string') return undefined;
    if (typeof note.from !== 'string' || typeof note.ref !== 'string') return undefined;
    return note as TakeoverNote;
  } catch {
    return undefined;
  }
}
