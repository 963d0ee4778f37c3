import { describe, expect, it } from 'vitest';
import type { QueueHost } from '../../src/engine/queue-host.js';
import { LISTEN_AFTER_LAST_MS, QueueListener } from '../../src/engine/queue-listener.js';

/** A queue over a store whose cluster records subscriptions; the test drives the clock and wake-ups. */
function setup(shared = true) {
  let now = 1_000;
  const log: string[] = [];
  let wake: ((dueAt?: number) => void) | undefined;
  const cluster = {
    subscribe: (queue: string, onWake: (dueAt?: number) => void) => {
      log.push(`subscribe ${queue}`);
      wake = onWake;
      return () => log.push(`unsubscribe ${queue}`);
    },
  };
  const host = {
    store: shared ? { cluster } : {},
    now: () => now,
    backgroundError: (err: unknown) => log.push(`error ${String(err)}`),
  } as unknown as QueueHost;
  const state = { takesHere: true };
  const listener = new QueueListener(
    { host, key: 'q', deleted: false },
    {
      takesHere: () => state.takesHere,
      woken: (dueAt) => log.push(`woken ${dueAt ?? '-'}`),
      rearmWakeUp: async () => void log.push('rearm'),
    },
  );
  return {
    listener,
    log,
    state,
    wake: (dueAt?: number) => wake!(dueAt),
    advance: (ms: number) => (now += ms),
  };
}

describe('QueueListener', () => {
  it('subscribes once, at the first consumer or receiver, and reads the next wake-up from the store then', () => {
    const { listener, log } = setup();
    listener.listen();
    listener.listen();
    expect(log).toEqual(['subscribe q', 'rearm']);
  });

  it('passes wake-ups on while someone here takes, with the due time of a delayed message', () => {
    const { listener, log, wake } = setup();
    listener.listen();
    wake(5_000);
    wake();
    expect(log.slice(2)).toEqual(['woken 5000', 'woken -']);
  });

  it('keeps listening a while after the last taker left, then stops at the next wake-up', () => {
    const { listener, log, state, wake, advance } = setup();
    listener.listen();
    state.takesHere = false;
    advance(LISTEN_AFTER_LAST_MS - 1);
    wake();
    expect(log.slice(2)).toEqual([]); // nobody to wake, but still listening
    advance(1);
    wake();
    expect(log.slice(2)).toEqual(['unsubscribe q']);
    listener.listen(); // a new consumer: listening again
    expect(log.slice(3)).toEqual(['subscribe q', 'rearm']);
  });

  it('a consumer that was here just now (served) keeps the subscription', () => {
    const { listener, log, state, wake, advance } = setup();
    listener.listen();
    state.takesHere = false;
    advance(LISTEN_AFTER_LAST_MS);
    listener.served(); // say, the last consumer left now
    wake();
    expect(log.slice(2)).toEqual([]);
  });

  it('an embedded store has no cluster: nothing to listen to', () => {
    const { listener, log } = setup(false);
    listener.listen();
    listener.stop();
    expect(log).toEqual([]);
  });
});
