/**
 * AMQP exceptions raised by the session layer, and the mapping of every failure (engine errors, codec
 * errors, bugs) onto a reply code and a scope: a soft error closes the channel, a hard one the connection.
 */
import { isConveyorError, MessageTooLargeError } from '@conveyor/core';
import { AmqpPropertyError, isAmqpFrameError, REPLY_CODE_KIND, ReplyCode } from '../codec/index.js';

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

/** Maps any failure to the close it causes. Unknown errors are 541 INTERNAL_ERROR on the connection. */
export function toReply(err: unknown): Reply {
  let code: number = ReplyCode.INTERNAL_ERROR;
  let message = err instanceof Error ? err.message : String(err);
  if (err instanceof MessageTooLargeError) {
    code = ReplyCode.PRECONDITION_FAILED; // RabbitMQ refuses oversized messages with 406
  } else if (
    isConveyorError(err) ||
    err instanceof AmqpProtocolError ||
    err instanceof AmqpPropertyError ||
    isAmqpFrameError(err)
  ) {
    code = err.amqpReplyCode;
  } else {
    message = 'internal error';
  }
  const scope = REPLY_CODE_KIND[code] === 'soft-error' ? 'channel' : 'connection';
  return { scope, replyCode: code, replyText: replyText(code, message) };
}

export const channelError = (code: number, message: string): AmqpProtocolError =>
  new AmqpProtocolError(code, message);
