import type { MessageStore } from '@conveyor/core';
import { type MqttSessionStore } from './store/session-store.js';

const enc = encodeURIComponent;

/**
 * Shared store: who belongs to each `$share` group's queue, on every node
 * (`mqtt-share/<vhost>/<queue>/<client id>` → its node), so that the last member on one node does
 * not delete a queue members on other nodes still consume. A member counts while its node is live,
 * or while its session is persistent (it outlives its node: another node expires or resumes it).
 */
export class ShareGroups {
  readonly #prefix: string;

  constructor(
    private readonly store: MessageStore,
    vhost: string,
    private readonly sessions: MqttSessionStore,
  ) {
    this.#prefix = `mqtt-share/${enc(vhost)}/`;
  }

  /** `persistent`: the member's session outlives its node, so its membership does too (`MetaWriteOptions`). */
  async join(queue: string, clientId: string, persistent: boolean): Promise<void> {
    const member = { node: this.store.cluster?.nodeId ?? '' };
    await this.store.putMeta(this.#key(queue, clientId), member, { durable: persistent });
  }

  /** Removes the member; true when no member is left anywhere (the queue may go). */
  async leave(queue: string, clientId: string, persistent: boolean): Promise<boolean> {
    await this.store.deleteMeta(this.#key(queue, clientId), { durable: persistent });
    const prefix = this.#groupPrefix(queue);
    const entries = await this.store.loadMeta(prefix);
    if (entries.length === 0) return true;
    const live = await this.store.cluster?.liveNodes();
    for (const { key, value } of entries) {
      if (!live || live.has((value as { node: string }).node)) return false;
      const record = await this.sessions.load(decodeURIComponent(key.slice(prefix.length)));
      if (record && record.expiryIntervalSec > 0) return false;
      // A member whose node left and whose session ended with it.
      await this.store.deleteMeta(key);
    }
    return true;
  }

  #groupPrefix(queue: string): string {
    return `${this.#prefix}${enc(queue)}/`;
  }

  #key(queue: string, clientId: string): string {
    return this.#groupPrefix(queue) + enc(clientId);
  }
}
