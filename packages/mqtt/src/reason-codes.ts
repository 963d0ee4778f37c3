import { isConveyorError, type ConveyorErrorCode } from '@conveyor/core';

/** MQTT 5 reason codes the server uses (section 2.4). */
export const RC = {
  success: 0x00,
  grantedQos1: 0x01,
  grantedQos2: 0x02,
  disconnectWithWill: 0x04,
  noMatchingSubscribers: 0x10,
  noSubscriptionExisted: 0x11,
  unspecifiedError: 0x80,
  malformedPacket: 0x81,
  protocolError: 0x82,
  implementationSpecificError: 0x83,
  unsupportedProtocolVersion: 0x84,
  clientIdentifierNotValid: 0x85,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverShuttingDown: 0x8b,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdentifierNotFound: 0x92,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  quotaExceeded: 0x97,
  payloadFormatInvalid: 0x99,
  retainNotSupported: 0x9a,
  sharedSubscriptionsNotSupported: 0x9e,
} as const;

/** MQTT 3.1.1 CONNACK return codes. */
export const CONNACK_V4 = {
  accepted: 0,
  unacceptableProtocolVersion: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badUserNameOrPassword: 4,
  notAuthorized: 5,
} as const;

/**
 * What each engine error answers in MQTT 5. An error that fits no acknowledgement (the message is
 * larger than the server takes, the server is closing) is a DISCONNECT reason; in an ack it is 0x80.
 */
const ENGINE_REASON: Record<ConveyorErrorCode, number> = {
  QUEUE_NOT_FOUND: RC.unspecifiedError,
  EXCHANGE_NOT_FOUND: RC.unspecifiedError,
  VHOST_NOT_FOUND: RC.notAuthorized,
  PRECONDITION_FAILED: RC.unspecifiedError,
  QUEUE_IN_USE: RC.unspecifiedError,
  QUEUE_NOT_EMPTY: RC.unspecifiedError,
  RESOURCE_LOCKED: RC.unspecifiedError,
  ACCESS_REFUSED: RC.notAuthorized,
  MESSAGE_TOO_LARGE: RC.packetTooLarge,
  INVALID_ARGUMENT: RC.implementationSpecificError,
  QUEUE_FULL: RC.quotaExceeded,
  LEASE_NOT_HELD: RC.unspecifiedError,
  MESSAGE_GONE: RC.unspecifiedError,
  REQUEST_TIMEOUT: RC.unspecifiedError,
  BROKER_CLOSED: RC.serverShuttingDown,
  STORE_ERROR: RC.unspecifiedError,
};

/** The reason codes each acknowledgement may carry (MQTT 5 §3.4.2.1, §3.5.2.1, §3.9.3, §3.11.3). */
const ALLOWED = {
  puback: new Set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]),
  suback: new Set([0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]),
  unsuback: new Set([0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]),
} as const;

export type AckKind = keyof typeof ALLOWED | 'pubrec';

/** The reason an engine failure gives in a DISCONNECT (0x80 for what is not an engine error). */
export function disconnectReason(err: unknown): number {
  return isConveyorError(err) ? ENGINE_REASON[err.code] : RC.unspecifiedError;
}

/** The reason code an engine failure gives in `ack`: one that packet may carry, else 0x80. */
export function mqttReasonCode(err: unknown, ack: AckKind): number {
  const code = disconnectReason(err);
  return ALLOWED[ack === 'pubrec' ? 'puback' : ack].has(code) ? code : RC.unspecifiedError;
}

/** Engine failures that end the connection instead of being acknowledged (too large: [MQTT-3.2.2-15]). */
export function endsConnection(err: unknown): boolean {
  return isConveyorError(err) && (err.code === 'MESSAGE_TOO_LARGE' || err.code === 'BROKER_CLOSED');
}
