// Publisher confirms go out at the end of the turn, coalesced into runs, in order, never covering
// a publish whose write is still pending, and split at nacks.
import { describe, expect, it } from 'vitest';
import { ConfirmTracker, type ConfirmOutcome } from '../src/session/confirm-tracker.js';

const turnEnd = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function tracker(): { t: ConfirmTracker; sent: [ConfirmOutcome, number, boolean][] } {
  const sent: [ConfirmOutcome, number, boolean][] = [];
  return { t: new ConfirmTracker((o, seq, multiple) => sent.push([o, seq, multiple])), sent };
}

describe('ConfirmTracker', () => {
  it('a turn of settled publishes is one multiple ack, sent at the end of the turn', async () => {
    const { t, sent } = tracker();
    for (let i = 0; i < 100; i++) t.register();
    for (let seq = 1; seq <= 100; seq++) t.settle(seq, 'ack');
    expect(sent).toEqual([]);
    await turnEnd();
    expect(sent).toEqual([['ack', 100, true]]);
    expect(t.unconfirmed).toBe(0);
  });

  it('out of order: a pending durable write holds back every later confirm; nacks split the runs', async () => {
    const { t, sent } = tracker();
    for (let i = 0; i < 6; i++) t.register();
    // 1 transient (settled at once), 2 durable (fsync pending), 3–4 transient, 5 refused, 6 transient.
    t.settle(1, 'ack');
    t.settle(3, 'ack');
    t.settle(4, 'ack');
    t.settle(5, 'nack');
    t.settle(6, 'ack');
    await turnEnd();
    expect(sent).toEqual([['ack', 1, false]]); // 2 is pending: nothing after it is covered
    t.settle(2, 'ack');
    await turnEnd();
    expect(sent).toEqual([
      ['ack', 1, false],
      ['ack', 4, true],
      ['nack', 5, false],
      ['ack', 6, false],
    ]);
  });

  it('a publish settled twice, or never registered, is confirmed once', async () => {
    const { t, sent } = tracker();
    t.register();
    t.settle(1, 'ack');
    t.settle(1, 'nack');
    t.settle(7, 'ack');
    await turnEnd();
    await turnEnd();
    expect(sent).toEqual([['ack', 1, false]]);
  });
});
