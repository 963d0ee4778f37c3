/**
 * Work nobody waits on (a session's settles while its client is gone, expiry timers, takeovers,
 * wills) still has its failures reported: to the server's error report (its `onError`, which the
 * broker app logs and counts), never swallowed. What is not news is a race lost to another step:
 * the queue was deleted first, the message was settled or handed to another holder, the broker
 * is closing.
 */
import { BrokerClosedError, LeaseNotHeldError, MessageGoneError, QueueNotFoundError } from '@conveyor/core';

/** Where a background failure goes: the server's error report. */
export type ErrorReport = (err: unknown) => void;

/** A failure because something else got there first. */
export function isLostRace(err: unknown): boolean {
  return (
    err instanceof QueueNotFoundError ||
    err instanceof LeaseNotHeldError ||
    err instanceof MessageGoneError ||
    err instanceof BrokerClosedError
  );
}

/**
 * `work`, its failure (unless a lost race) handed to `report`: the promise returned never
 * rejects, so a caller may await it in a sequence of steps that must all be tried.
 */
export function reported(work: Promise<unknown>, report: ErrorReport): Promise<void> {
  return work.then(
    () => undefined,
    (err: unknown) => {
      if (!isLostRace(err)) report(err);
    },
  );
}
