import { describe, expect, it } from 'vitest';
import { DispatchPump, type PumpTarget } from '../../src/engine/dispatch-pump.js';

/** A target whose rounds wait until the test lets them end; `drainedBy` sets what the round's take found. */
function target(room = true) {
  const log: string[] = [];
  let finish: ((live: boolean) => void) | undefined;
  const t: PumpTarget & { room: boolean } = {
    room,
    hasRoom: () => t.room,
    round: () => {
      log.push('round');
      return new Promise<boolean>((resolve) => (finish = resolve));
    },
    idle: () => log.push('idle'),
    onError: (err) => log.push(`error ${String(err)}`),
  };
  const end = async (pump: DispatchPump, drained: boolean, live = true) => {
    pump.drained = drained;
    finish!(live);
    await new Promise((r) => setTimeout(r, 0));
  };
  return { t, log, end };
}

describe('DispatchPump', () => {
  it('runs one round at a time and one more for whatever arrived during it', async () => {
    const { t, log, end } = target();
    const pump = new DispatchPump(t);
    pump.pump();
    pump.pump();
    pump.pump();
    expect(log).toEqual(['round']);
    await end(pump, true);
    expect(log).toEqual(['round', 'round']); // the arrivals during the first: once more, however many
    await end(pump, true);
    expect(log).toEqual(['round', 'round', 'idle']);
    expect(pump.running).toBe(false);
  });

  it('without room it does not run a round, and says it is idle', () => {
    const { t, log } = target(false);
    new DispatchPump(t).pump();
    expect(log).toEqual(['idle']);
  });

  it('new room starts a round unless the last take ran dry and nothing arrived since', async () => {
    const { t, log, end } = target();
    const pump = new DispatchPump(t);
    pump.pump();
    await end(pump, true); // ran dry
    pump.room();
    expect(log).toEqual(['round', 'idle']);
    pump.pump(); // an arrival
    expect(log).toEqual(['round', 'idle', 'round']);
    await end(pump, false); // took all it asked for: maybe more there
    pump.room();
    expect(log).toEqual(['round', 'idle', 'round', 'idle', 'round']);
    await end(pump, true);
  });

  it('room during a round goes round again only if that round did not run dry', async () => {
    const { t, log, end } = target();
    const pump = new DispatchPump(t);
    pump.pump();
    pump.room();
    await end(pump, true);
    expect(log).toEqual(['round', 'idle']);
    pump.pump();
    pump.room();
    await end(pump, false);
    expect(log).toEqual(['round', 'idle', 'round', 'round']);
    await end(pump, true);
    expect(log.at(-1)).toBe('idle');
  });

  it('an arrival during a round that ran dry goes round again: its take may have missed it', async () => {
    const { t, log, end } = target();
    const pump = new DispatchPump(t);
    pump.pump();
    pump.pump();
    await end(pump, true);
    expect(log).toEqual(['round', 'round']);
    await end(pump, true);
  });

  it('no round after one that found the queue gone, and a failed round is reported', async () => {
    const { t, log, end } = target();
    const pump = new DispatchPump(t);
    pump.pump();
    pump.pump();
    await end(pump, false, false);
    expect(log).toEqual(['round', 'round']); // the pump() during it starts one anew (the target has room)
    t.room = false;
    await end(pump, true, false);
    expect(log.slice(2)).toEqual(['idle']);
    t.room = true;
    t.round = () => Promise.reject(new Error('store down'));
    pump.pump();
    await new Promise((r) => setTimeout(r, 0));
    expect(log.slice(3)).toEqual(['error Error: store down', 'idle']);
  });
});
