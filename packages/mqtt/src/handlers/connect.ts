import { randomBytes } from 'node:crypto';
import { isConveyorError, type AuthResult } from '@conveyor/core';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import type { MqttConnection } from '../connection.js';
import { CONNACK_V4, RC } from '../reason-codes.js';
import { NEVER_EXPIRES } from '../session-registry.js';
import { isValidTopicName } from '../topics.js';
import { willDelaySec, type Will } from '../will.js';
import { mayPublish } from '../access.js';

/**
 * Who the client is [MQTT-3.1.3.5]: a user name with its password; the identity of a verified TLS
 * client certificate when the server takes user names from certificates; no user name: the
 * configured anonymous user, or nobody. A password without a user name is a protocol violation in
 * 3.1.1 (undefined: close without CONNACK [MQTT-3.1.2-22]); in 5.0 it is credentials with no user
 * (§3.1.2.9), refused unless an anonymous user is configured.
 */
function login(conn: MqttConnection, packet: IConnectPacket): AuthResult | undefined {
  const { ctx } = conn;
  const attempt = {
    door: 'mqtt' as const,
    remoteAddress: conn.transport.remoteAddress,
    vhost: ctx.vhost.vhost,
  };
  const { username, password } = packet;
  const identity = conn.transport.peerIdentity;
  if (identity !== undefined && ctx.identityAsUsername)
    return ctx.authenticator.identified(identity, attempt);
  if (username !== undefined)
    return ctx.authenticator.password(username, password?.toString('utf8') ?? '', attempt);
  if (password !== undefined && conn.version !== 5) return undefined;
  if (password === undefined && ctx.anonymousUser !== undefined)
    return ctx.authenticator.identified(ctx.anonymousUser, attempt);
  return ctx.authenticator.refuseAnonymous(attempt);
}

type Refuse = (code5: number, code4: number) => void;

/** CONNECT [MQTT-3.1]: authenticate, open or resume the session, CONNACK, then resend what is in flight. */
export async function handleConnect(conn: MqttConnection, packet: IConnectPacket): Promise<void> {
  const version = packet.protocolVersion ?? 4;
  conn.beginConnect(version);
  const v5 = version === 5;
  const refuse: Refuse = (code5, code4) => {
    conn.send(
      v5
        ? { cmd: 'connack', sessionPresent: false, reasonCode: code5 }
        : { cmd: 'connack', sessionPresent: false, returnCode: code4 },
    );
    conn.close(undefined);
  };
  try {
    await connect(conn, packet, refuse);
  } catch (err) {
    // The engine or the store failed while opening the session: the client hears it in its CONNACK.
    if (!isConveyorError(err)) conn.ctx.reportError(err);
    if (conn.state.kind === 'connecting') refuse(RC.serverUnavailable, CONNACK_V4.serverUnavailable);
  }
}

async function connect(conn: MqttConnection, packet: IConnectPacket, refuse: Refuse): Promise<void> {
  const { ctx } = conn;
  const v5 = conn.version === 5;

  const auth = login(conn, packet);
  if (auth === undefined) return conn.close(undefined); // [MQTT-3.1.2-22], [MQTT-3.1.4-1]: no CONNACK
  if (!auth.ok) {
    if (auth.reason === 'bad-credentials' || (auth.reason === 'anonymous-refused' && packet.password))
      return refuse(RC.badUserNameOrPassword, CONNACK_V4.badUserNameOrPassword);
    return refuse(RC.notAuthorized, CONNACK_V4.notAuthorized);
  }
  conn.authenticated(auth.principal);

  const cleanStart = packet.clean ?? true;
  let clientId = packet.clientId;
  let assigned = false;
  if (clientId === '') {
    // 3.1.1 allows an empty id only with a clean session [MQTT-3.1.3-8]; 5.0 always gets one assigned.
    if (!v5 && !cleanStart) return refuse(RC.clientIdentifierNotValid, CONNACK_V4.identifierRejected);
    clientId = `conveyor-${randomBytes(9).toString('base64url')}`;
    assigned = true;
  }
  if (packet.will && !isValidTopicName(packet.will.topic))
    return refuse(RC.topicNameInvalid, CONNACK_V4.identifierRejected);
  // A will to be retained where nothing is retained (MQTT 5 §3.2.2.3.5): 5.0 hears 0x9A in its
  // CONNACK; 3.1.1 has no code for it, so the connection just closes.
  if (packet.will?.retain === true && !ctx.retainAvailable) {
    if (!v5) return conn.close(undefined);
    return refuse(RC.retainNotSupported, 0);
  }
  // The will is a publish of this user's: refused now rather than lost silently later.
  if (packet.will && !mayPublish(auth.principal, ctx.vhost.vhost, packet.will.topic, clientId))
    return refuse(RC.notAuthorized, CONNACK_V4.notAuthorized);

  const props = packet.properties;
  const expiry = v5 ? (props?.sessionExpiryInterval ?? 0) : cleanStart ? 0 : NEVER_EXPIRES;
  if (v5) {
    if (props?.receiveMaximum === 0 || props?.maximumPacketSize === 0) return refuse(RC.protocolError, 0);
    conn.clientLimits({
      receiveMaximum: props?.receiveMaximum ?? 65535,
      ...(props?.maximumPacketSize === undefined ? {} : { maxPacketBytes: props.maximumPacketSize }),
      topicAliasMaximum: props?.topicAliasMaximum ?? 0,
    });
  }
  let keepAlive = packet.keepalive ?? 0;
  let serverKeepAlive: number | undefined;
  const max = ctx.keepAliveMaxSeconds;
  if (v5 && max !== undefined && (keepAlive === 0 || keepAlive > max)) {
    keepAlive = max;
    serverKeepAlive = max;
  }

  const { session, present } = await ctx.sessions.open(clientId, cleanStart, expiry);
  if (conn.state.kind !== 'connecting') {
    // The socket went while the session was opening.
    await ctx.sessions.disconnected(session);
    return;
  }
  if (packet.will) {
    const { willDelayInterval, ...willProps } = packet.will.properties ?? {};
    const will: Will = {
      topic: packet.will.topic,
      payload: Buffer.from(packet.will.payload),
      qos: packet.will.qos ?? 0,
      retain: packet.will.retain ?? false,
      delaySec: v5 ? (willDelayInterval ?? 0) : 0,
      ...(v5 && Object.keys(willProps).length > 0 ? { properties: willProps } : {}),
    };
    let key: string | undefined;
    if (ctx.wills) {
      // Shared store: a copy other nodes publish should this node die while the client is here.
      key = await ctx.wills.put(clientId, will, willDelaySec(session, will), session.connectedAt);
      if (conn.state.kind !== 'connecting') {
        ctx.wills.remove(key);
        await ctx.sessions.disconnected(session);
        return;
      }
    }
    conn.setWill(will, key);
  }
  conn.connected(session, clientId);
  conn.setKeepAlive(keepAlive);
  const connack: IConnackPacket = { cmd: 'connack', sessionPresent: present };
  if (v5) {
    connack.reasonCode = RC.success;
    connack.properties = {
      receiveMaximum: ctx.receiveMaximum,
      topicAliasMaximum: ctx.topicAliasMaximum,
      maximumPacketSize: ctx.maxPacketBytes,
      retainAvailable: ctx.retainAvailable,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      sharedSubscriptionAvailable: true,
      ...(assigned ? { assignedClientIdentifier: clientId } : {}),
      ...(serverKeepAlive === undefined ? {} : { serverKeepAlive }),
    };
  } else connack.returnCode = CONNACK_V4.accepted;
  conn.send(connack);
  session.attach(conn);
}
