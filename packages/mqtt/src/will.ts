import type { QoS } from 'mqtt-packet';
import type { MqttContext } from './context.js';
import type { PublishProperties } from './message-mapping.js';
import { publishMessage } from './publishing.js';
import type { MqttSession } from './session.js';

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: PublishProperties;
  /** MQTT 5 Will Delay Interval (seconds). */
  delaySec: number;
}

/** Publishes a will now, or after its delay when the session outlives the connection. */
export function publishWill(ctx: MqttContext, session: MqttSession, will: Will): void {
  const fire = (): void => {
    publishMessage(
      ctx,
      session.clientId,
      will.topic,
      will.payload,
      will.qos,
      will.retain,
      will.properties,
    ).catch(() => undefined);
  };
  if (will.delaySec > 0 && session.persistent)
    session.deferWill(Math.min(will.delaySec, session.expiryIntervalSec, 2_000_000) * 1000, fire);
  else fire();
}
