/**
 * Typed errors with stable codes. Every error that crosses a package boundary is one of these.
 * The core knows no protocol: each door maps `code` onto its wire (AMQP reply codes in
 * @conveyor/amqp, MQTT reason codes in @conveyor/mqtt).
 */
export type ConveyorErrorCode =
  | 'QUEUE_NOT_FOUND'
  | 'EXCHANGE_NOT_FOUND'
  | 'VHOST_NOT_FOUND'
  | 'PRECONDITION_FAILED'
  | 'QUEUE_IN_USE'
  | 'QUEUE_NOT_EMPTY'
  | 'RESOURCE_LOCKED'
  | 'ACCESS_REFUSED'
  | 'MESSAGE_TOO_LARGE'
  | 'INVALID_ARGUMENT'
  | 'QUEUE_FULL'
  | 'LEASE_NOT_HELD'
  | 'MESSAGE_GONE'
  | 'REQUEST_TIMEOUT'
  | 'BROKER_CLOSED'
  | 'STORE_ERROR';

export interface ConveyorErrorOptions {
  cause?: unknown;
}

export abstract class ConveyorError extends Error {
  abstract readonly code: ConveyorErrorCode;

  constructor(message: string, options?: ConveyorErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class QueueNotFoundError extends ConveyorError {
  readonly code = 'QUEUE_NOT_FOUND' as const;
  constructor(
    readonly queue: string,
    readonly vhost = '/',
  ) {
    super(`no queue '${queue}' in vhost '${vhost}'`);
  }
}

export class ExchangeNotFoundError extends ConveyorError {
  readonly code = 'EXCHANGE_NOT_FOUND' as const;
  constructor(
    readonly exchange: string,
    readonly vhost = '/',
  ) {
    super(`no exchange '${exchange}' in vhost '${vhost}'`);
  }
}

export class VhostNotFoundError extends ConveyorError {
  readonly code = 'VHOST_NOT_FOUND' as const;
  constructor(readonly vhost: string) {
    super(`no vhost '${vhost}'`);
  }
}

/** Declared with options that differ from the existing entity, or an operation whose precondition fails. */
export class PreconditionFailedError extends ConveyorError {
  readonly code = 'PRECONDITION_FAILED' as const;
}

/** A queue redeclared with an option that differs from the declared one (which option, both values). */
export class InequivalentOptionError extends PreconditionFailedError {
  constructor(
    readonly queue: string,
    readonly option: string,
    readonly declared: unknown,
    readonly requested: unknown,
    message: string,
  ) {
    super(message);
  }
}

export class QueueInUseError extends ConveyorError {
  readonly code = 'QUEUE_IN_USE' as const;
  constructor(readonly queue: string) {
    super(`queue '${queue}' has consumers`);
  }
}

export class QueueNotEmptyError extends ConveyorError {
  readonly code = 'QUEUE_NOT_EMPTY' as const;
  constructor(readonly queue: string) {
    super(`queue '${queue}' is not empty`);
  }
}

/** An exclusive queue owned by someone else, or an exclusive consumer already present. */
export class ResourceLockedError extends ConveyorError {
  readonly code = 'RESOURCE_LOCKED' as const;
}

export class AccessRefusedError extends ConveyorError {
  readonly code = 'ACCESS_REFUSED' as const;
}

export class MessageTooLargeError extends ConveyorError {
  readonly code = 'MESSAGE_TOO_LARGE' as const;
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`message of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

export class InvalidArgumentError extends ConveyorError {
  readonly code = 'INVALID_ARGUMENT' as const;
}

/** A queue at its max length / max bytes with overflow `reject-publish`. */
export class QueueFullError extends ConveyorError {
  readonly code = 'QUEUE_FULL' as const;
  constructor(readonly queue: string) {
    super(`queue '${queue}' is full`);
  }
}

/** Ack, nack or renew of a delivery the caller no longer holds (lease expired, already settled). */
export class LeaseNotHeldError extends ConveyorError {
  readonly code = 'LEASE_NOT_HELD' as const;
}

/** `take` of a peeked message that was taken, acked or expired in the meantime. */
export class MessageGoneError extends ConveyorError {
  readonly code = 'MESSAGE_GONE' as const;
  constructor(
    readonly queue: string,
    readonly id: string,
  ) {
    super(`message '${id}' is no longer available in queue '${queue}'`);
  }
}

export class RequestTimeoutError extends ConveyorError {
  readonly code = 'REQUEST_TIMEOUT' as const;
  constructor(
    readonly correlationId: string,
    readonly attempts: number,
    readonly timeoutMs: number,
    /** Where the request went, and how many consumers that queue had when the wait ended. */
    readonly target?: { queue: string; consumers?: number | undefined },
  ) {
    super(
      `no reply to request '${correlationId}'${target === undefined ? '' : ` sent to ${describeTarget(target)}`} after ${attempts} attempt(s) of ${timeoutMs} ms`,
    );
  }
}

function describeTarget(target: { queue: string; consumers?: number | undefined }): string {
  const { queue, consumers } = target;
  if (consumers === undefined) return `queue '${queue}'`;
  if (consumers === 0) return `queue '${queue}', which has no consumers`;
  return `queue '${queue}' (${consumers} consumer${consumers === 1 ? '' : 's'})`;
}

export class BrokerClosedError extends ConveyorError {
  readonly code = 'BROKER_CLOSED' as const;
  constructor() {
    super('the broker is closed');
  }
}

export class StoreError extends ConveyorError {
  readonly code = 'STORE_ERROR' as const;
}

export function isConveyorError(err: unknown): err is ConveyorError {
  return err instanceof ConveyorError;
}
