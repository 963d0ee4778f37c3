import type { ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import type { MqttConnection } from '../connection.js';
import { mqttReasonCode, RC } from '../reason-codes.js';
import type { MqttSession, Subscription } from '../session.js';
import { parseFilter } from '../topics.js';
import { maySubscribe } from '../access.js';
import { isLostRace } from '../background.js';

/** SUBSCRIBE [MQTT-3.8]: bind the session's queue (or the group's shared queue), SUBACK, then retained messages. */
export async function handleSubscribe(
  conn: MqttConnection,
  session: MqttSession,
  packet: ISubscribePacket,
): Promise<void> {
  const v5 = conn.version === 5;
  const subscriptionId = v5 ? packet.properties?.subscriptionIdentifier : undefined;
  const granted: number[] = [];
  const withRetained: Subscription[] = [];
  for (const s of packet.subscriptions) {
    const parsed = parseFilter(s.topic);
    if (!parsed) {
      granted.push(v5 ? RC.topicFilterInvalid : 0x80);
      continue;
    }
    if (!maySubscribe(conn.principal!, conn.ctx.vhost.vhost, parsed.filter, session.clientId)) {
      granted.push(v5 ? RC.notAuthorized : 0x80);
      continue;
    }
    // No Local on a shared subscription is a protocol error [MQTT-3.8.3-4].
    if (v5 && parsed.group !== undefined && s.nl) return conn.close(RC.protocolError);
    const retainHandling = v5 ? ((s.rh ?? 0) as 0 | 1 | 2) : 0;
    try {
      const { sub, existed } = await conn.ctx.sessions.subscribe(session, {
        filter: s.topic,
        qos: s.qos,
        ...(v5 ? { noLocal: s.nl === true, retainAsPublished: s.rap === true, retainHandling } : {}),
        ...(subscriptionId === undefined ? {} : { subscriptionId }),
      });
      granted.push(s.qos);
      // Retained messages: never for a shared subscription (MQTT 5 §4.8.2, an unnumbered rule); Retain Handling
      // 0 always [MQTT-3.3.1-9], 1 only for a new subscription [MQTT-3.3.1-10], 2 never [MQTT-3.3.1-11].
      if (parsed.group === undefined && (retainHandling === 0 || (retainHandling === 1 && !existed)))
        withRetained.push(sub);
    } catch (err) {
      granted.push(v5 ? mqttReasonCode(err, 'suback') : 0x80);
    }
  }
  conn.send({ cmd: 'suback', messageId: packet.messageId!, granted });
  for (const sub of withRetained) session.sendRetained(conn.ctx.retained.match(sub.parsed.filter), sub);
}

/** UNSUBSCRIBE [MQTT-3.10]: unbind; 5.0 says per filter whether there was a subscription. */
export async function handleUnsubscribe(
  conn: MqttConnection,
  session: MqttSession,
  packet: IUnsubscribePacket,
): Promise<void> {
  const codes: number[] = [];
  for (const filter of packet.unsubscriptions) {
    try {
      const removed = await conn.ctx.sessions.unsubscribe(session, filter);
      codes.push(removed ? RC.success : RC.noSubscriptionExisted);
    } catch (err) {
      // Its queue went first (a lost race): nothing is subscribed. Anything else is news [MQTT-3.11.3-1].
      if (isLostRace(err)) codes.push(RC.noSubscriptionExisted);
      else {
        conn.ctx.reportError(err);
        codes.push(RC.unspecifiedError);
      }
    }
  }
  conn.send(
    conn.version === 5
      ? { cmd: 'unsuback', messageId: packet.messageId!, granted: codes }
      : { cmd: 'unsuback', messageId: packet.messageId!, granted: [] },
  );
}
