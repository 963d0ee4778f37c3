/** Leaf helpers shared by the channel and its method handlers (no imports back into the session). */
import type { Delivery } from '@conveyor/core';
import { fromMessageProperties, type BasicProperties } from '../codec/index.js';

export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/** Properties as delivered; redeliveries carry `x-delivery-count` as RabbitMQ quorum queues do. */
export function deliveryProperties(delivery: Delivery): BasicProperties {
  const props = fromMessageProperties(delivery.message.properties);
  if (delivery.deliveryCount > 1)
    props.headers = { ...(props.headers ?? {}), 'x-delivery-count': delivery.deliveryCount - 1 };
  return props;
}
