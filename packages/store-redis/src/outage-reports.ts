import { StoreError } from '@conveyor/core';
import type { RedisClient } from './redis-connection.js';

/** The store's two connections: one for its commands and scripts, one for its subscriptions. */
export type RedisConnectionName = 'commands' | 'subscriptions';

/**
 * A connection to Redis lost, or back after a loss. Each outage is reported twice per connection,
 * whatever its length: ioredis reconnects on its own and fails every attempt while Redis is away
 * (a few a second at first, then one every 2 s), and an error for each would bury the log.
 */
export type RedisConnectionEvent =
  | { connection: RedisConnectionName; state: 'lost'; error: unknown }
  | { connection: RedisConnectionName; state: 'restored'; downMs: number; failedReconnects: number };

export interface OutageHandlers {
  onConnection(event: RedisConnectionEvent): void;
  /** An error while the connection is up, not part of an outage. */
  onError(err: unknown): void;
  /** True while no outage is reported: before the store is open and once it closed (its own connect and disconnect). */
  silent(): boolean;
}

/** The default report: one line on stderr for each event. */
export function printConnectionEvent(event: RedisConnectionEvent): void {
  if (event.state === 'lost')
    console.error(`[conveyor redis] ${event.connection} connection lost, reconnecting:`, event.error);
  else
    console.error(
      `[conveyor redis] ${event.connection} connection restored after ${event.downMs} ms (${event.failedReconnects} failed reconnects)`,
    );
}

/** Reports `client`'s outages once when they begin and once when they end, and its other errors as they come. */
export function reportOutages(
  client: RedisClient,
  connection: RedisConnectionName,
  handlers: OutageHandlers,
): void {
  let up = false; // a connection that never came up is the caller's failure to open, not an outage
  let lostAt: number | undefined;
  let failedReconnects = 0;
  // A socket's error comes just before its close: held back one turn, it becomes the outage's
  // cause rather than a report of its own.
  let held: unknown;
  client.on('error', (err: unknown) => {
    if (lostAt !== undefined) {
      failedReconnects += 1;
      return;
    }
    held = err;
    setImmediate(() => {
      if (held !== err) return;
      held = undefined;
      handlers.onError(err);
    });
  });
  client.on('close', () => {
    if (handlers.silent() || !up || lostAt !== undefined) return;
    lostAt = Date.now();
    failedReconnects = 0;
    const error = held ?? new StoreError('the connection to redis closed');
    held = undefined;
    handlers.onConnection({ connection, state: 'lost', error });
  });
  client.on('ready', () => {
    up = true;
    if (lostAt === undefined) return;
    const downMs = Date.now() - lostAt;
    lostAt = undefined;
    if (!handlers.silent())
      handlers.onConnection({ connection, state: 'restored', downMs, failedReconnects });
  });
}
