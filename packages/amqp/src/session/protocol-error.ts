/**
 * AMQP exceptions raised by the session layer, and the mapping of every failure (engine errors, codec
 * errors, bugs) onto a reply code and a scope: a soft error closes the channel, a hard one the connection.
 */
import { isConveyorError, type ConveyorErrorCode } from '@conveyor/core';
import { isAmqpFrameError, REPLY_CODE_KIND, ReplyCode } from '../codec/index.js';

export interface MethodRef {
  classId: number;
  methodId: number;
}

/** An AMQP exception the server raises itself (e.g. 504 CHANNEL_ERROR, 530 NOT_ALLOWED). */
export class AmqpProtocolError extends Error {
  override readonly name = 'AmqpProtocolError';
  constructor(
    readonly amqpReplyCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Reply {
  scope: 'channel' | 'connection';
  replyCode: number;
  replyText: string;
}

const NAMES = new Map<number, string>(Object.entries(ReplyCode).map(([name, code]) => [code, name]));

/** RabbitMQ's reply-text style: `NOT_FOUND - no queue 'x' in vhost '/'`. */
export function replyText(code: number, message: string): string {
  const text = `${NAMES.get(code) ?? 'INTERNAL_ERROR'} - ${message}`;
  // reply-text is a shortstr: at most 255 bytes.
  return Buffer.byteLength(text) <= 255
    ? text
    : Buffer.from(text)
        .subarray(0, 255)
        .toString('utf8')
        .replace(/\uFFFD$/, '');
}

/**
 * The reply code of each engine error (RabbitMQ's where it has one): the AMQP meaning of the
 * core's protocol-free error codes lives here, not in the core.
 */
const ENGINE_REPLY: Record<ConveyorErrorCode, number> = {
  QUEUE_NOT_FOUND: ReplyCode.NOT_FOUND,
  EXCHANGE_NOT_FOUND: ReplyCode.NOT_FOUND,
  VHOST_NOT_FOUND: ReplyCode.NOT_ALLOWED,
  PRECONDITION_FAILED: ReplyCode.PRECONDITION_FAILED,
  QUEUE_IN_USE: ReplyCode.PRECONDITION_FAILED,
  QUEUE_NOT_EMPTY: ReplyCode.PRECONDITION_FAILED,
  RESOURCE_LOCKED: ReplyCode.RESOURCE_LOCKED,
  ACCESS_REFUSED: ReplyCode.ACCESS_REFUSED,
  // RabbitMQ refuses an oversized message with 406, not 311 CONTENT_TOO_LARGE.
  MESSAGE_TOO_LARGE: ReplyCode.PRECONDITION_FAILED,
  INVALID_ARGUMENT: ReplyCode.PRECONDITION_FAILED,
  QUEUE_FULL: ReplyCode.PRECONDITION_FAILED,
  LEASE_NOT_HELD: ReplyCode.PRECONDITION_FAILED,
  MESSAGE_GONE: ReplyCode.NOT_FOUND,
  REQUEST_TIMEOUT: ReplyCode.CHANNEL_ERROR,
  BROKER_CLOSED: ReplyCode.CONNECTION_FORCED,
  STORE_ERROR: ReplyCode.INTERNAL_ERROR,
};

/** The reply code an engine error closes with. */
export function engineReplyCode(code: ConveyorErrorCode): number {
  return ENGINE_REPLY[code];
}

/** Maps any failure to the close it causes. Unknown errors are 541 INTERNAL_ERROR on the connection. */
export function toReply(err: unknown): Reply {
  let code: number = ReplyCode.INTERNAL_ERROR;
  let message = err instanceof Error ? err.message : String(err);
  // An engine error (AmqpPropertyError is one: a precondition of the message's properties).
  if (isConveyorError(err)) {
    code = ENGINE_REPLY[err.code];
  } else if (err instanceof AmqpProtocolError || isAmqpFrameError(err)) {
    code = err.amqpReplyCode;
  } else {
    message = 'internal error';
  }
  const scope = REPLY_CODE_KIND[code] === 'soft-error' ? 'channel' : 'connection';
  return { scope, replyCode: code, replyText: replyText(code, message) };
}

export const channelError = (code: number, message: string): AmqpProtocolError =>
  new AmqpProtocolError(code, message);
