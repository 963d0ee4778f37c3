import { describe, expect, it } from 'vitest';
import { preludeNames, type ScriptMode } from '../src/scripts/prelude.js';
import { enqueuedScript, queueScripts } from '../src/scripts/queue-scripts.js';

/** The code of a Lua text without its comments, and the names it defines at its top level. */
const code = (lua: string): string => lua.replace(/--[^\n]*/g, '');
const defined = (lua: string): Set<string> =>
  new Set(
    [...lua.matchAll(/^local (?:function (\w+)|([\w, ]+?) =)/gm)].flatMap((m) =>
      m[1] ? [m[1]] : m[2]!.split(',').map((n) => n.trim()),
    ),
  );

describe.each<ScriptMode>(['single', 'cluster'])('each script carries the prelude it uses (%s)', (mode) => {
  const names = preludeNames(mode);
  const scripts = [...Object.entries(queueScripts(mode)), ['enqueued', enqueuedScript(mode)] as const];

  it('defines every prelude name its code uses, those used only by another helper included', () => {
    for (const [name, { lua }] of scripts) {
      const has = defined(lua);
      const used = names.filter((n) => new RegExp(`\\b${n}\\b`).test(code(lua)));
      expect(
        used.filter((n) => !has.has(n)),
        name,
      ).toEqual([]);
    }
    // A move appends by appendRecords, which reaches reserveIds through nextIds: only a closure
    // over what helpers use finds it.
    expect(code(queueScripts(mode).move.lua)).toMatch(/^local function reserveIds\b/m);
  });

  it('leaves out what it does not use (a closure built per call is the cost)', () => {
    const { enqueue, ack, counts } = queueScripts(mode);
    expect(defined(enqueue.lua)).not.toContain('takeIds');
    expect(defined(ack.lua)).not.toContain('appendRecords');
    expect(defined(enqueuedScript(mode).lua)).not.toContain('freshIds');
    expect(defined(counts.lua).size).toBeLessThan(names.length / 2);
  });

  it('keeps the shebang first in a Cluster', () => {
    for (const [, { lua }] of scripts) expect(lua.startsWith('#!lua\n')).toBe(mode === 'cluster');
  });
});
