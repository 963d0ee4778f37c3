import { InvalidArgumentError, type Broker, type MessageStore } from '@conveyor/core';
import { AmqpLink, type AmqpTuning } from './amqp-link.js';
import { EmbeddedLink } from './embedded-link.js';
import { ManagementApi } from './management-api.js';
import type { MessageLink } from './link.js';

/**
 * Where the app's messages go. Nothing set: an engine inside the process (shared by the server
 * and the clients of that process). `broker`: that engine. `url`: AMQP 0-9-1 to a Conveyor broker
 * (`kind: 'conveyor'`, which adds Conveyor's extras) or to RabbitMQ (`kind: 'rabbitmq'`); without
 * `kind`, the server's `product` decides.
 */
export interface ConveyorConnectionOptions {
  broker?: Broker;
  /**
   * The store of the engine inside the app (instead of memory): a `MessageStore`, or a shared
   * store's URL as `conveyor start --store` takes it (`redis://host:6379?prefix=conveyor:`, with
   * `@conveyor/store-redis` installed). With a shared store the app is one more node of it:
   * its handlers compete with the other nodes' consumers. Not with `broker` or `url`.
   */
  store?: MessageStore | string;
  vhost?: string;
  url?: string;
  /** Default: read from the server (`product` Conveyor → `conveyor`, else `rabbitmq`). */
  kind?: 'rabbitmq' | 'conveyor';
  /** Remote modes: socket options (TLS, keep-alive; TCP_NODELAY is on), heartbeat, frame size, connection name. */
  amqp?: AmqpTuning;
  /**
   * A Conveyor broker's management HTTP API (`http://user:pass@host:15672`): with `kind:
   * 'conveyor'`, peek, take and leased receive go through it.
   */
  managementUrl?: string;
}

export async function openLink(options: ConveyorConnectionOptions = {}): Promise<MessageLink> {
  if (options.store !== undefined && (options.broker !== undefined || options.url !== undefined))
    throw new InvalidArgumentError('connection: give one of store, broker and url');
  if (options.url !== undefined) {
    // The management API serves only a Conveyor broker: asked for, it says the kind too.
    const api =
      options.kind !== 'rabbitmq' && options.managementUrl !== undefined
        ? new ManagementApi(options.managementUrl, options.vhost ?? vhostOf(options.url))
        : undefined;
    return AmqpLink.open(options.url, options.kind, api, options.amqp);
  }
  return EmbeddedLink.open(options.broker, options.vhost, options.store);
}

/** The vhost an AMQP URL names (`amqp://host/vh` → `vh`; none → `/`). */
function vhostOf(url: string): string {
  const path = new URL(url).pathname;
  return path === '' || path === '/' ? '/' : decodeURIComponent(path.slice(1));
}
