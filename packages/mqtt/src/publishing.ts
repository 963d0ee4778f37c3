import type { PublishResult } from '@conveyor/core';
import type { QoS } from 'mqtt-packet';
import type { MqttContext } from './context.js';
import { toOutgoing, type PublishProperties } from './message-mapping.js';
import { TOPIC_EXCHANGE, topicToRoutingKey } from './topics.js';

/**
 * An MQTT publish (or will) into the engine: to amq.topic under the swapped key, and into the
 * retained store when it is retained. Resolves once the engine stored every copy.
 */
export function publishMessage(
  ctx: MqttContext,
  clientId: string,
  topic: string,
  payload: Buffer | string,
  qos: QoS,
  retain: boolean,
  props: PublishProperties | undefined,
): Promise<PublishResult> {
  const now = Date.now();
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  // The engine call starts synchronously, so a client's publishes keep their order.
  const published = ctx.vhost.publish(
    TOPIC_EXCHANGE,
    topicToRoutingKey(topic),
    toOutgoing(body, qos, retain, clientId, props, now),
  );
  if (retain) {
    const { messageExpiryInterval, topicAlias: _a, subscriptionIdentifier: _s, ...kept } = props ?? {};
    const retained = ctx.retained.set({
      topic,
      payload: body,
      qos,
      storedAt: now,
      ...(Object.keys(kept).length > 0 ? { properties: kept } : {}),
      ...(messageExpiryInterval === undefined ? {} : { expiresAt: now + messageExpiryInterval * 1000 }),
    });
    return Promise.all([published, retained]).then(([result]) => result);
  }
  // Not an async function: one promise less per publish on the hot path.
  return published;
}
