import { isConveyorError, type ConveyorErrorCode } from '@conveyor/core';

/** An error of the management API itself (bad request, auth), already carrying its HTTP status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function badRequest(message: string): HttpError {
  return new HttpError(400, 'BAD_REQUEST', message);
}

/** HTTP status of each engine error code: what a REST client expects for that failure. */
const STATUS: Record<ConveyorErrorCode, number> = {
  QUEUE_NOT_FOUND: 404,
  EXCHANGE_NOT_FOUND: 404,
  VHOST_NOT_FOUND: 404,
  MESSAGE_GONE: 404,
  PRECONDITION_FAILED: 409,
  QUEUE_IN_USE: 409,
  QUEUE_NOT_EMPTY: 409,
  RESOURCE_LOCKED: 409,
  QUEUE_FULL: 409,
  LEASE_NOT_HELD: 409,
  INVALID_ARGUMENT: 400,
  ACCESS_REFUSED: 403,
  MESSAGE_TOO_LARGE: 413,
  REQUEST_TIMEOUT: 504,
  BROKER_CLOSED: 503,
  STORE_ERROR: 500,
};

export interface ErrorResponse {
  status: number;
  body: { error: string; reason: string };
  headers: Record<string, string>;
}

/** The JSON answer for any thrown error; unknown errors are 500 without internals. */
export function errorResponse(err: unknown): ErrorResponse {
  if (err instanceof HttpError)
    return { status: err.status, body: { error: err.code, reason: err.message }, headers: err.headers };
  if (isConveyorError(err))
    return { status: STATUS[err.code], body: { error: err.code, reason: err.message }, headers: {} };
  return {
    status: 500,
    body: { error: 'INTERNAL_ERROR', reason: 'internal error (see the broker log)' },
    headers: {},
  };
}
