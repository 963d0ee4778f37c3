/**
 * The parts of `@conveyor/core`'s message model (packages/core/src/message.ts) that the codec speaks.
 *
 * Mirrored structurally because core's public index does not export them yet; types only, so values
 * flow between the two without conversion. Once core exports them, replace the bodies below with
 * `export type { HeaderValue, Headers, MessageProperties } from '@conveyor/core';`.
 */
export type HeaderValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | Date
  | Uint8Array
  | HeaderValue[]
  | { [key: string]: HeaderValue };

export type Headers = Record<string, HeaderValue>;

export interface MessageProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: Headers;
  persistent?: boolean;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  /** Milliseconds. */
  expiration?: number;
  messageId?: string;
  /** Seconds since the epoch. */
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
}
