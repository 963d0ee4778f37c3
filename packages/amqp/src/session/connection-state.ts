import type { Principal, VirtualHost } from '@conveyor/core';

/** Where an AMQP connection is in its life; every frame is checked against this first. */
export type ConnectionState =
  | { kind: 'awaiting-header' }
  | { kind: 'awaiting-start-ok' }
  | { kind: 'awaiting-tune-ok'; principal: Principal }
  | { kind: 'awaiting-open'; principal: Principal }
  | { kind: 'open'; principal: Principal; vhost: VirtualHost }
  /** We sent connection.close and wait for close-ok; everything else is dropped. */
  | { kind: 'closing'; principal: Principal | undefined; vhost: VirtualHost | undefined }
  | { kind: 'closed' };

/** The byte stream under a connection: a TCP socket in production, a fake in tests. */
export interface Transport {
  readonly remoteAddress: string | undefined;
  /** The user name a verified TLS client certificate carries (SASL EXTERNAL); undefined without one. */
  readonly peerIdentity?: string | undefined;
  write(bytes: Buffer): void;
  /** Flush what is written, then close. */
  end(): void;
  destroy(): void;
  /** Stop (or resume) reading for one reason; reading resumes when no reason is left. */
  pauseReading(reason: string): void;
  resumeReading(reason: string): void;
  /** Told when the bytes waiting for the socket cross the high watermark (true) and drain again (false). */
  onWritePressure?(listener: (high: boolean) => void): void;
}
