import type { QoS } from 'mqtt-packet';
import type { MqttContext } from './context.js';
import type { PublishProperties } from './message-mapping.js';
import { publishMessage } from './publishing.js';
import type { MqttSession } from './session.js';
import { reported } from './background.js';

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: PublishProperties;
  /** MQTT 5 Will Delay Interval (seconds). */
  delaySec: number;
}

/** Seconds the will waits: only a session that outlives its connection delays it, never past its expiry. */
export function willDelaySec(session: MqttSession, will: Will): number {
  return will.delaySec > 0 && session.persistent
    ? Math.min(will.delaySec, session.expiryIntervalSec, 2_000_000)
    : 0;
}

/**
 * Publishes a will now, or after its delay when the session outlives the connection. `recordKey`
 * (shared store) is the will's copy in the store: removed once published here or dropped.
 */
export function publishWill(ctx: MqttContext, session: MqttSession, will: Will, recordKey?: string): void {
  const forget = (): void => {
    if (recordKey !== undefined) ctx.wills?.remove(recordKey);
  };
  const fire = (): void => {
    void reported(
      publishMessage(ctx, session.clientId, will.topic, will.payload, will.qos, will.retain, will.properties),
      ctx.reportError,
    ).finally(forget);
  };
  const delaySec = willDelaySec(session, will);
  if (delaySec > 0) session.deferWill(delaySec * 1000, fire, recordKey === undefined ? undefined : forget);
  else fire();
}
