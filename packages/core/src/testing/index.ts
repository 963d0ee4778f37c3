/**
 * Helpers for the tests of packages built on the core (`@conveyor/core/testing`): not part of the
 * engine's API.
 */
import * as errors from '../errors.js';
import type { ConveyorError, ConveyorErrorCode } from '../errors.js';

/** One way to make each engine error: a record, so a new error code fails to compile until it is here. */
const SAMPLES: Record<ConveyorErrorCode, () => ConveyorError> = {
  QUEUE_NOT_FOUND: () => new errors.QueueNotFoundError('q'),
  EXCHANGE_NOT_FOUND: () => new errors.ExchangeNotFoundError('x'),
  VHOST_NOT_FOUND: () => new errors.VhostNotFoundError('v'),
  PRECONDITION_FAILED: () => new errors.PreconditionFailedError('precondition'),
  QUEUE_IN_USE: () => new errors.QueueInUseError('q'),
  QUEUE_NOT_EMPTY: () => new errors.QueueNotEmptyError('q'),
  RESOURCE_LOCKED: () => new errors.ResourceLockedError('locked'),
  ACCESS_REFUSED: () => new errors.AccessRefusedError('refused'),
  MESSAGE_TOO_LARGE: () => new errors.MessageTooLargeError(2, 1),
  INVALID_ARGUMENT: () => new errors.InvalidArgumentError('invalid'),
  QUEUE_FULL: () => new errors.QueueFullError('q'),
  LEASE_NOT_HELD: () => new errors.LeaseNotHeldError('lease'),
  MESSAGE_GONE: () => new errors.MessageGoneError('q', '1'),
  REQUEST_TIMEOUT: () => new errors.RequestTimeoutError('c', 1, 1),
  BROKER_CLOSED: () => new errors.BrokerClosedError(),
  STORE_ERROR: () => new errors.StoreError('store'),
};

/** A fresh instance of every error the engine throws, by code. */
export function everyEngineError(): { code: ConveyorErrorCode; make: () => ConveyorError }[] {
  return Object.entries(SAMPLES).map(([code, make]) => ({ code: code as ConveyorErrorCode, make }));
}

/**
 * Methods of an object replaced until `restore()`: each fails with what `fail` makes, as the real
 * one fails: `'throw'` for a synchronous method, `'reject'` for one that returns a promise.
 */
export function failMethods<T extends object>(
  target: T,
  modes: Partial<Record<keyof T & string, 'throw' | 'reject'>>,
  fail: () => unknown,
): { restore(): void } {
  const record = target as Record<string, unknown>;
  const saved = new Map<string, { own: boolean; value: unknown }>();
  for (const [name, mode] of Object.entries(modes) as [string, 'throw' | 'reject'][]) {
    saved.set(name, { own: Object.prototype.hasOwnProperty.call(target, name), value: record[name] });
    record[name] =
      mode === 'throw'
        ? () => {
            throw fail();
          }
        : () => Promise.reject(fail());
  }
  return {
    restore() {
      for (const [name, { own, value }] of saved) {
        if (own) record[name] = value;
        else delete record[name];
      }
    },
  };
}
