import type { PublishResult } from '@conveyor/core';
import type {
  IPubackPacket,
  IPubcompPacket,
  IPublishPacket,
  IPubrecPacket,
  IPubrelPacket,
} from 'mqtt-packet';
import type { MqttConnection } from '../connection.js';
import { disconnectReason, endsConnection, mqttReasonCode, RC } from '../reason-codes.js';
import { publishMessage } from '../publishing.js';
import type { MqttSession } from '../session.js';
import { isValidTopicName } from '../topics.js';
import { mayPublish } from '../access.js';

/** PUBLISH from the client [MQTT-3.3]: into the engine; PUBACK/PUBREC only once the engine has it stored. */
export function handlePublish(conn: MqttConnection, session: MqttSession, packet: IPublishPacket): void {
  const v5 = conn.version === 5;
  let topic = packet.topic;
  const { topicAlias, subscriptionIdentifier, ...props } = packet.properties ?? {};
  if (subscriptionIdentifier !== undefined) return conn.close(RC.protocolError); // [MQTT-3.3.4-6]
  if (v5 && topicAlias !== undefined) {
    if (topicAlias === 0 || topicAlias > conn.ctx.topicAliasMaximum) return conn.close(RC.topicAliasInvalid);
    const known = conn.resolveTopicAlias(topicAlias, topic);
    if (known === undefined) return conn.close(RC.protocolError);
    topic = known;
  }
  if (!isValidTopicName(topic)) return conn.close(RC.topicNameInvalid);
  // Retain Available 0 was in CONNACK: a retained PUBLISH is DISCONNECT 0x9A (MQTT 5 §3.3.1.3);
  // 3.1.1 has no way to say it, so the connection closes.
  if (packet.retain && !conn.ctx.retainAvailable) return conn.close(RC.retainNotSupported);
  const id = packet.messageId;
  if (packet.qos > 0 && (id === undefined || id === 0)) return conn.close(RC.protocolError);
  // A QoS 2 publish resent before PUBREL: it was stored once already, only PUBREC again [MQTT-4.3.3].
  if (packet.qos === 2 && session.inboundQos2.has(id!)) {
    conn.queueAck(() => void conn.send({ cmd: 'pubrec', messageId: id! }));
    return;
  }
  if (!mayPublish(conn.principal!, conn.ctx.vhost.vhost, topic, session.clientId)) {
    // 5.0: PUBACK/PUBREC 0x87; QoS 0 has no ack, so DISCONNECT 0x87. 3.1.1 has no negative ack:
    // the connection closes, as RabbitMQ does.
    if (!v5 || packet.qos === 0) return conn.close(RC.notAuthorized);
    const cmd = packet.qos === 1 ? 'puback' : 'pubrec';
    conn.queueAck(() => void conn.send({ cmd, messageId: id!, reasonCode: RC.notAuthorized }));
    return;
  }
  if (packet.qos > 0 && v5 && !conn.admitInbound()) return conn.close(RC.receiveMaximumExceeded); // [MQTT-3.3.4-8]
  // Subscribers served straight from this publish may slow this connection (Qos0Direct).
  const direct = conn.ctx.direct;
  direct.publisher = conn;
  // A plain QoS 0 PUBLISH may go to subscribers as the bytes it came in.
  const frame =
    packet.qos === 0 && !packet.dup && topicAlias === undefined ? conn.frameOf(packet) : undefined;
  if (frame) direct.copies.received(frame, v5, packet.retain);
  let done: Promise<PublishResult>;
  try {
    done = publishMessage(
      conn.ctx,
      session.clientId,
      topic,
      packet.payload,
      packet.qos,
      packet.retain,
      v5 ? props : undefined,
    );
  } finally {
    direct.publisher = undefined;
    direct.copies.routed();
  }
  if (packet.qos === 0) {
    // QoS 0 has no answer; an engine refusal (too large, no such exchange) drops it, as the spec allows.
    done.catch(dropQos0);
    return;
  }
  if (packet.qos === 2) session.inboundQos2.add(id!);
  const cmd = packet.qos === 1 ? 'puback' : 'pubrec';
  // Settled into a value at once: the ack chain may reach it only after earlier publishes were
  // stored, and a rejection without a handler by then would be an unhandled rejection.
  const outcome = done.then(
    (result): { result: PublishResult } => ({ result }),
    (err: unknown): { err: unknown } => ({ err }),
  );
  conn.queueAck(() =>
    outcome.then((settled) => {
      if ('result' in settled) {
        if (v5 && packet.qos === 1) conn.inboundDone();
        conn.send(
          v5 ? { cmd, messageId: id!, reasonCode: publishReason(settled.result) } : { cmd, messageId: id! },
        );
        return;
      }
      if (v5) conn.inboundDone();
      if (packet.qos === 2) session.inboundQos2.delete(id!);
      // 3.1.1 has no negative acknowledgement: the connection closes [MQTT-3.3.5-2].
      if (!v5) return conn.close(undefined);
      if (endsConnection(settled.err)) return conn.close(disconnectReason(settled.err));
      conn.send({ cmd, messageId: id!, reasonCode: mqttReasonCode(settled.err, cmd) });
    }),
  );
}

/** A refused QoS 0 publish is dropped: it has no acknowledgement to carry a reason [MQTT-4.3.1]. */
function dropQos0(): void {}

function publishReason(result: PublishResult): number {
  if (result.unroutable) return RC.noMatchingSubscribers;
  if (result.queues.length === 0 && result.rejected.length > 0) return RC.quotaExceeded;
  return RC.success;
}

/** PUBREL: the client releases a QoS 2 packet id; PUBCOMP (0x92 when unknown). */
export function handlePubrel(conn: MqttConnection, session: MqttSession, packet: IPubrelPacket): void {
  const id = packet.messageId!;
  const known = session.inboundQos2.delete(id);
  if (known && conn.version === 5) conn.inboundDone();
  conn.queueAck(() => {
    const pubcomp: IPubcompPacket = { cmd: 'pubcomp', messageId: id };
    if (conn.version === 5) pubcomp.reasonCode = known ? RC.success : RC.packetIdentifierNotFound;
    conn.send(pubcomp);
  });
}

/** PUBACK for an outbound QoS 1: the engine delivery is acked. */
export function handlePuback(_conn: MqttConnection, session: MqttSession, packet: IPubackPacket): void {
  session.complete(packet.messageId!);
}

/** PUBREC for an outbound QoS 2: PUBREL (an error reason code ends the exchange). */
export function handlePubrec(conn: MqttConnection, session: MqttSession, packet: IPubrecPacket): void {
  const id = packet.messageId!;
  if (conn.version === 5 && (packet.reasonCode ?? 0) >= 0x80) {
    session.complete(id);
    return;
  }
  const known = session.received(id);
  const pubrel: IPubrelPacket = { cmd: 'pubrel', messageId: id };
  if (conn.version === 5 && !known) pubrel.reasonCode = RC.packetIdentifierNotFound;
  conn.send(pubrel);
}

/** PUBCOMP for an outbound QoS 2: done, the engine delivery is acked. */
export function handlePubcomp(_conn: MqttConnection, session: MqttSession, packet: IPubcompPacket): void {
  session.complete(packet.messageId!);
}
