/**
 * Errors of the bridge. Each carries a stable `code` and a one-line message meant to be shown as
 * is when a bridge refuses to start (bad config, unreachable host, missing queue).
 */
export type BridgeErrorCode =
  /** The config is malformed: a missing or wrong field. */
  | 'INVALID_CONFIG'
  /** An endpoint URL with a scheme the bridge does not speak. */
  | 'UNKNOWN_SCHEME'
  /** The host did not answer (refused, timed out, DNS) or refused the login. */
  | 'UNREACHABLE'
  /** The source or sink queue (or exchange) does not exist. */
  | 'MISSING_QUEUE'
  /** A connected endpoint went away (socket closed, channel closed, broker closed). */
  | 'ENDPOINT_LOST'
  /** The sink refused a message (queue full, unroutable, publish nacked). */
  | 'REJECTED';

export class BridgeError extends Error {
  constructor(
    readonly code: BridgeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BridgeError';
  }
}

/** The error's message, one line. */
export function describeError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, ' ').trim();
}

/** A URL without its password, for messages and status. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
