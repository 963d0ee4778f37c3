/**
 * What an MQTT client may do, in RabbitMQ's model through `amq.topic`: PUBLISH needs write on the
 * exchange and the topic write permission on the routing key (`a/b` is checked as `a.b`);
 * SUBSCRIBE needs read on the exchange and the topic read permission on the binding key. The rules
 * are the core's (`Principal`), so an AMQP user and an MQTT client of the same user are held alike.
 */
import type { Principal } from '@conveyor/core';
import { filterToBindingKey, TOPIC_EXCHANGE, topicToRoutingKey } from './topics.js';

export function mayPublish(principal: Principal, vhost: string, topic: string, clientId: string): boolean {
  return (
    principal.may(vhost, 'write', 'exchange', TOPIC_EXCHANGE) &&
    principal.mayTopic(vhost, TOPIC_EXCHANGE, 'write', topicToRoutingKey(topic), { clientId })
  );
}

/** `filter` without a `$share/group/` prefix. */
export function maySubscribe(principal: Principal, vhost: string, filter: string, clientId: string): boolean {
  return (
    principal.may(vhost, 'read', 'exchange', TOPIC_EXCHANGE) &&
    principal.mayTopic(vhost, TOPIC_EXCHANGE, 'read', filterToBindingKey(filter), { clientId })
  );
}
