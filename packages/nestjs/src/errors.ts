/**
 * Errors of the NestJS transport. Engine errors (`RequestTimeoutError`, `QueueNotFoundError`, …)
 * come from `@conveyor/core` unchanged; these cover what the engine has no word for.
 */
export type ConveyorNestErrorCode =
  | 'NON_RETRYABLE'
  | 'UNSUPPORTED_OPERATION'
  | 'REMOTE_HANDLER_FAILED'
  | 'CONNECTION_LOST'
  | 'DUPLICATE_NESTJS';

export abstract class ConveyorNestError extends Error {
  abstract readonly code: ConveyorNestErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Thrown by a handler: the message is dead-lettered at once with this reason, never retried. */
export class NonRetryableError extends ConveyorNestError {
  readonly code = 'NON_RETRYABLE' as const;
}

/** The connection mode has no way to do this (RabbitMQ has no peek, say). */
export class UnsupportedOperationError extends ConveyorNestError {
  readonly code = 'UNSUPPORTED_OPERATION' as const;
  constructor(
    readonly operation: string,
    readonly mode: string,
  ) {
    super(`${operation} is not supported in ${mode} mode`);
  }
}

/** What a `@Request` handler's failure looks like on the wire. */
export interface ErrorReply {
  name: string;
  message: string;
  /** An HTTP-style status when the error had one (BadRequestException → 400). */
  status?: number;
  /** The error's own code when it had one. */
  errorCode?: string;
  /** Extra data (validation messages, an RpcException's object). */
  details?: unknown;
}

/** A `@Request` handler threw: the client rethrows its error reply as this. */
export class RemoteHandlerError extends ConveyorNestError {
  readonly code = 'REMOTE_HANDLER_FAILED' as const;
  readonly remoteName: string;
  readonly status: number | undefined;
  readonly errorCode: string | undefined;
  readonly details: unknown;

  constructor(
    readonly queue: string,
    reply: ErrorReply,
  ) {
    super(`request to '${queue}' failed: ${reply.name}: ${reply.message}`);
    this.remoteName = reply.name;
    this.status = reply.status;
    this.errorCode = reply.errorCode;
    this.details = reply.details;
  }
}

/** The AMQP connection (or a consumer's channel) closed without being asked to. */
export class ConnectionLostError extends ConveyorNestError {
  readonly code = 'CONNECTION_LOST' as const;
}
