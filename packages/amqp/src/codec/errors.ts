/**
 * Decode failures of the AMQP codec. Each carries the reply code the server must send in
 * `connection.close` (all of these are hard errors), plus the class/method being decoded when known,
 * which `connection.close` also reports.
 *
 * Not a core `ConveyorError`: those are engine-level errors with MQTT codes too, and framing errors never
 * leave the AMQP door.
 */
export type AmqpFrameErrorCode = 'FRAME_ERROR' | 'SYNTAX_ERROR' | 'COMMAND_INVALID' | 'UNEXPECTED_FRAME';

const REPLY_CODES: Readonly<Record<AmqpFrameErrorCode, 501 | 502 | 503 | 505>> = {
  FRAME_ERROR: 501,
  SYNTAX_ERROR: 502,
  COMMAND_INVALID: 503,
  UNEXPECTED_FRAME: 505,
};

export interface AmqpFrameErrorContext {
  channel?: number;
  classId?: number;
  methodId?: number;
  cause?: unknown;
}

export class AmqpFrameError extends Error {
  override readonly name = 'AmqpFrameError';
  readonly amqpReplyCode: 501 | 502 | 503 | 505;
  /** Channel of the offending frame (0 when unknown or connection-level). */
  readonly channel: number;
  /** Class and method being decoded, for `connection.close`'s class-id/method-id (0 when unknown). */
  readonly classId: number;
  readonly methodId: number;

  constructor(
    readonly code: AmqpFrameErrorCode,
    message: string,
    context: AmqpFrameErrorContext = {},
  ) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.amqpReplyCode = REPLY_CODES[code];
    this.channel = context.channel ?? 0;
    this.classId = context.classId ?? 0;
    this.methodId = context.methodId ?? 0;
  }

  /** Same error with the frame's channel/class/method filled in where the inner decoder did not know them. */
  withContext(context: AmqpFrameErrorContext): AmqpFrameError {
    return new AmqpFrameError(this.code, this.message, {
      channel: this.channel || context.channel,
      classId: this.classId || context.classId,
      methodId: this.methodId || context.methodId,
      cause: this.cause,
    });
  }
}

export function isAmqpFrameError(err: unknown): err is AmqpFrameError {
  return err instanceof AmqpFrameError;
}

export function syntaxError(message: string): AmqpFrameError {
  return new AmqpFrameError('SYNTAX_ERROR', message);
}

/** Thrown by encoders when asked to write something the wire format cannot carry (a programming error). */
export class AmqpEncodeError extends Error {
  override readonly name = 'AmqpEncodeError';
  readonly code = 'AMQP_ENCODE_ERROR' as const;
}
