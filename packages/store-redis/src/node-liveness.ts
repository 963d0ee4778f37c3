import { globalKeys } from './keys.js';
import { STORE_FORMAT } from './store-format.js';

/** What the liveness loop needs from its store. */
export interface LivenessHost {
  readonly nodeId: string;
  readonly globalPrefix: string;
  /** The store's connection, for plain commands. */
  command(
    name: 'set' | 'sadd' | 'srem' | 'del' | 'exists' | 'smembers' | 'eval',
    ...args: (string | number)[]
  ): Promise<unknown>;
  /** Tells every node that `node` left (the store's `nodeGone` channel). */
  announceGone(node: string): Promise<void>;
  /** Returns to ready what `node` held in `queue`; returns how many. */
  releaseNode(queue: string, node: string): Promise<number>;
  /** The store's own upkeep, on the liveness timer after each beat and sweep. */
  housekeep(): Promise<void>;
  onError(err: unknown): void;
}

/** Extends the sweep claim KEYS[1] by ARGV[2] ms if ARGV[1] still holds it: 1, else 0. */
const RENEW_CLAIM = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/**
 * A node proves it is alive by renewing `node:<id>` (PX ttl, its store format as value) every
 * ttl/3. Every node also sweeps: any registered node whose key has lapsed is dead, and whatever its
 * holders held returns to ready (counts stay raised). A sweep finds nothing the second time, but
 * two at once could double a message: a replay of a dead node's half-done cross-slot moves works
 * from the intents it read, and if another sweeper finished those moves and dropped their marks
 * in between, the replay appends them again. So one node at a time sweeps a dead node: it claims
 * `sweeping:<node>` for a TTL and renews the claim before each queue; a node that stalls past it
 * stops there, and one that dies with it lets the claim lapse for the next.
 * A node that leaves (closed, or swept) is announced on `node-gone`, so the others can drop what it
 * owned (exclusive queues, transient topology) and publish its clients' wills.
 */
export class NodeLiveness {
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(
    private readonly host: LivenessHost,
    private readonly ttlMs: number,
  ) {}

  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(
      () => {
        if (this.#ticking) return;
        this.#ticking = this.#tick().finally(() => (this.#ticking = undefined));
      },
      Math.max(10, Math.floor(this.ttlMs / 3)),
    );
    this.#timer.unref();
  }

  /** Stops renewing (close, or a crash drill); the key lapses by itself unless `forget`. */
  async stop(forget: boolean): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
    if (!forget) return;
    const { host } = this;
    await host.command('del', globalKeys.node(host.globalPrefix, host.nodeId));
    await host.command('srem', globalKeys.nodes(host.globalPrefix), host.nodeId);
    await host.command('del', globalKeys.nodeQueues(host.globalPrefix, host.nodeId));
    await host.announceGone(host.nodeId);
  }

  /** Registered nodes whose liveness key is current. */
  async liveNodes(): Promise<Set<string>> {
    const g = this.host.globalPrefix;
    const live = new Set<string>();
    for (const node of (await this.host.command('smembers', globalKeys.nodes(g))) as string[])
      if ((await this.host.command('exists', globalKeys.node(g, node))) === 1) live.add(node);
    return live;
  }

  async #tick(): Promise<void> {
    try {
      await this.#beat();
      await this.sweep();
      await this.host.housekeep();
    } catch (err) {
      this.host.onError(err);
    }
  }

  async #beat(): Promise<void> {
    const { host } = this;
    await host.command(
      'set',
      globalKeys.node(host.globalPrefix, host.nodeId),
      String(STORE_FORMAT),
      'PX',
      this.ttlMs,
    );
    await host.command('sadd', globalKeys.nodes(host.globalPrefix), host.nodeId);
  }

  /** Returns what dead nodes held; returns how many deliveries came back. */
  async sweep(): Promise<number> {
    const { host } = this;
    const g = host.globalPrefix;
    let n = 0;
    for (const node of (await host.command('smembers', globalKeys.nodes(g))) as string[]) {
      if (node === host.nodeId || (await host.command('exists', globalKeys.node(g, node))) === 1) continue;
      const claim = globalKeys.sweeping(g, node);
      if ((await host.command('set', claim, host.nodeId, 'NX', 'PX', this.ttlMs)) !== 'OK') continue;
      let held = true;
      for (const queue of (await host.command('smembers', globalKeys.nodeQueues(g, node))) as string[]) {
        held = (await host.command('eval', RENEW_CLAIM, 1, claim, host.nodeId, this.ttlMs)) === 1;
        if (!held) break;
        n += await host.releaseNode(queue, node);
      }
      if (!held) continue; // another node took the sweep over
      // The claim then lapses by itself: a sweeper that read the node's name before it was
      // removed finds the claim taken, or, later, nothing left to do.
      await host.command('del', globalKeys.nodeQueues(g, node));
      await host.command('srem', globalKeys.nodes(g), node);
      await host.announceGone(node);
    }
    return n;
  }
}
