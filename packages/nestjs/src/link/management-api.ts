import type { MessageProperties } from '@conveyor/core';
import type { InboundMessage, PeekedInfo, ReceiveSetup } from './link.js';

/** A message as the broker's management API returns it (`apps/broker`, `message-json.ts`). */
interface MessageJson {
  id: string;
  state: string;
  deliveryCount: number;
  properties: MessageProperties;
  payload: string;
  payloadEncoding: 'string' | 'base64';
  holder?: string;
}

/** The management API answered with an error status. */
export class ManagementApiError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    detail: string,
  ) {
    super(`management API ${path} answered ${status}: ${detail}`);
    this.name = 'ManagementApiError';
  }
}

/**
 * Receiver operations that AMQP has no method for (peek, take, leased receive with renew),
 * through a Conveyor broker's management HTTP API: `POST /api/queues/:vhost/:name/<op>`.
 */
export class ManagementApi {
  readonly #base: string;
  readonly #auth: string | undefined;

  constructor(
    baseUrl: string,
    private readonly vhost: string,
  ) {
    const url = new URL(baseUrl);
    this.#auth =
      url.username === ''
        ? undefined
        : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
    this.#base = url.toString().replace(/\/$/, '');
  }

  async #post<T>(queue: string, op: string, body: object): Promise<T> {
    const path = `/api/queues/${encodeURIComponent(this.vhost)}/${encodeURIComponent(queue)}/${op}`;
    const res = await fetch(`${this.#base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.#auth ? { authorization: this.#auth } : {}) },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new ManagementApiError(res.status, path, text);
    return JSON.parse(text) as T;
  }

  async peek(queue: string, max: number): Promise<PeekedInfo[]> {
    const list = await this.#post<MessageJson[]>(queue, 'peek', { count: max });
    return list.map((m) => ({
      id: m.id,
      body: bodyOf(m),
      properties: m.properties,
      deliveryCount: m.deliveryCount,
      state: m.state,
    }));
  }

  async take(queue: string, id: string, leaseMs?: number): Promise<InboundMessage> {
    const m = await this.#post<MessageJson>(queue, 'take', {
      id,
      ...(leaseMs === undefined ? {} : { leaseMs }),
    });
    return this.#inbound(queue, m);
  }

  async receive(queue: string, setup: ReceiveSetup): Promise<InboundMessage[]> {
    const list = await this.#post<MessageJson[]>(queue, 'receive', {
      max: setup.max,
      waitMs: setup.waitMs,
      ...(setup.leaseMs === undefined ? {} : { leaseMs: setup.leaseMs }),
    });
    return list.map((m) => this.#inbound(queue, m));
  }

  #inbound(queue: string, m: MessageJson): InboundMessage {
    const deliveries = [{ id: m.id, holder: m.holder ?? '' }];
    const settle = async (op: string, extra: object = {}): Promise<void> => {
      await this.#post(queue, op, { deliveries, ...extra });
    };
    return {
      queue,
      id: m.id,
      body: bodyOf(m),
      properties: m.properties,
      headers: m.properties.headers ?? {},
      deliveryCount: m.deliveryCount,
      ack: () => settle('ack'),
      nack: (options = {}) =>
        settle('nack', options.delayMs === undefined ? {} : { delayMs: options.delayMs }),
      deadLetter: (reason) => settle('dead-letter', { reason }),
      renewLease: async (leaseMs) => {
        const r = await this.#post<{ leaseUntil: number }>(queue, 'renew', {
          deliveries,
          ...(leaseMs === undefined ? {} : { leaseMs }),
        });
        return r.leaseUntil;
      },
    };
  }
}

function bodyOf(m: MessageJson): Buffer {
  return Buffer.from(m.payload, m.payloadEncoding === 'base64' ? 'base64' : 'utf8');
}
