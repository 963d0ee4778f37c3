/**
 * Errors of the broker app. They carry a stable `code` and a message meant to be printed as the
 * single line a user sees when `conveyor start` refuses to run.
 */
export type StartErrorCode =
  | 'INVALID_OPTIONS'
  | 'TLS_INVALID'
  | 'PORT_IN_USE'
  | 'LISTEN_FAILED'
  | 'STORE_NOT_SUPPORTED'
  /** The definitions file was well-formed but could not be applied (a queue declared otherwise, say). */
  | 'DEFINITIONS_FAILED';

export class StartError extends Error {
  constructor(
    readonly code: StartErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StartError';
  }
}
