import type { Broker } from '@conveyor/core';
import { AmqpLink } from './amqp-link.js';
import { EmbeddedLink } from './embedded-link.js';
import type { MessageLink } from './link.js';

/**
 * Where the app's messages go. Nothing set: an engine inside the process (shared by the server
 * and the clients of that process). `broker`: that engine. `url`: AMQP 0-9-1 to a Conveyor broker
 * (`kind: 'conveyor'`, which adds Conveyor's extras) or to RabbitMQ (`kind: 'rabbitmq'`, default).
 */
export interface ConveyorConnectionOptions {
  broker?: Broker;
  vhost?: string;
  url?: string;
  kind?: 'rabbitmq' | 'conveyor';
}

export async function openLink(options: ConveyorConnectionOptions = {}): Promise<MessageLink> {
  if (options.url !== undefined) return AmqpLink.open(options.url, options.kind ?? 'rabbitmq');
  return EmbeddedLink.open(options.broker, options.vhost);
}
