import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LmdbStore } from '../../src/index.js';
import { builtStoreEntry, childScript } from './child-store-build.js';

let entry: string;
const dirs: string[] = [];
const freshDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-lmdb-child-'));
  dirs.push(dir);
  return dir;
};

beforeAll(() => {
  entry = builtStoreEntry();
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs the crash-mode child until `killAfterMs` after it is ready, then SIGKILLs it. */
function runUntilKilled(dir: string, killAfterMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, 'crash', dir, entry], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (timer === undefined && out.startsWith('ready\n'))
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    // 'close', not 'exit': lines the child wrote before it died may still be in the pipe.
    child.on('close', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child ended without being killed: ${err}`));
      // Only complete lines count: a line cut by the kill was never confirmed.
      else
        resolve(
          out
            .slice(0, out.lastIndexOf('\n') + 1)
            .split('\n')
            .filter(Boolean),
        );
    });
  });
}

describe('LmdbStore crash safety (child process killed with SIGKILL)', () => {
  it('keeps every confirmed enqueue that was not acked, in order, over 5 kills', async () => {
    const dir = freshDir();
    const confirmed = new Set<string>();
    const acked = new Set<string>();
    for (let round = 0; round < 5; round++) {
      const lines = await runUntilKilled(dir, 150 + Math.floor(Math.random() * 250));
      let enqueuedThisRound = 0;
      for (const line of lines) {
        const [kind, id] = line.split(' ');
        if (kind === 'E' && id !== undefined) {
          confirmed.add(id);
          enqueuedThisRound++;
        } else if (kind === 'A' && id !== undefined) acked.add(id);
      }
      expect(enqueuedThisRound).toBeGreaterThan(0);

      const store = new LmdbStore({ path: dir });
      await store.open();
      try {
        await store.createQueue('q');
        const present = await store.peek('q', Number.MAX_SAFE_INTEGER, {
          includeInFlight: true,
          includeDelayed: true,
        });
        const presentIds = present.map((m) => m.id);
        const presentSet = new Set(presentIds);
        const missing = [...confirmed].filter((id) => !presentSet.has(id) && !acked.has(id));
        expect(missing).toEqual([]);
        expect(present.every((m) => m.state === 'ready')).toBe(true);
        const numeric = presentIds.map(Number);
        expect(numeric).toEqual([...numeric].sort((a, b) => a - b));
        expect(presentSet.size).toBe(presentIds.length);
      } finally {
        await store.close();
      }
    }
  });
});

interface TraceEvent {
  start: number;
  end: number;
  call: string;
  fd: string;
  rest: string;
}

const duration = (rest: string): number => Number(/<([\d.]+)>\s*$/.exec(rest)?.[1] ?? 0);

/** Parses `strace -f -ttt -T -y` output into calls with start and end times. */
function parseTrace(text: string): TraceEvent[] {
  const events: TraceEvent[] = [];
  const pending = new Map<string, { start: number; call: string; fd: string; rest: string }>();
  for (const line of text.split('\n')) {
    const started = /^(\d+)\s+([\d.]+)\s+(\w+)\((\d+<[^>]*>)(.*)$/.exec(line);
    if (started !== null) {
      const [, pid, time, call, fd, rest] = started as unknown as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const start = Number(time);
      if (rest.includes('<unfinished ...>')) pending.set(pid, { start, call, fd, rest });
      else events.push({ start, end: start + duration(rest), call, fd, rest });
      continue;
    }
    const resumed = /^(\d+)\s+([\d.]+)\s+<\.\.\. (\w+) resumed>(.*)$/.exec(line);
    if (resumed !== null) {
      const pid = resumed[1] as string;
      const tail = resumed[4] ?? '';
      const begun = pending.get(pid);
      if (begun !== undefined)
        events.push({ ...begun, end: begun.start + duration(tail), rest: begun.rest + tail });
      pending.delete(pid);
    }
  }
  return events.sort((a, b) => a.start - b.start);
}

const hasStrace = existsSync('/usr/bin/strace');
const strictCi = process.env.CI === 'true';

describe('LmdbStore flush ordering (strace)', () => {
  it.skipIf(!hasStrace && !strictCi)(
    `syncs the data file before each enqueue confirmation${hasStrace ? '' : ' (skipped: /usr/bin/strace is not installed)'}`,
    () => {
      expect(hasStrace, 'strace is required in CI (apt-get install strace)').toBe(true);
      const dir = freshDir();
      const tracePath = join(dir, 'trace.txt');
      const count = 15;
      const run = spawnSync(
        '/usr/bin/strace',
        [
          '-f',
          '-ttt',
          '-T',
          '-y',
          // Slow syncs down so a confirmation sent before its sync returned cannot pass by luck.
          '-e',
          'inject=fsync,fdatasync,msync:delay_exit=20000',
          '-o',
          tracePath,
          '-e',
          'trace=fsync,fdatasync,msync,sync_file_range,write,writev,sendto,pwrite64',
          process.execPath,
          childScript,
          'sync',
          join(dir, 'db'),
          entry,
          String(count),
        ],
        { encoding: 'utf8', timeout: 15_000 },
      );
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout.split('\n').filter(Boolean)).toHaveLength(count);

      const events = parseTrace(readFileSync(tracePath, 'utf8'));
      const isDataFile = (e: TraceEvent) => e.fd.endsWith('/data.mdb>');
      const confirmations = events.filter((e) => e.fd.startsWith('1<') && /"C \d+\\n"/.test(e.rest));
      expect(confirmations).toHaveLength(count);
      let previous = 0;
      for (const confirmation of confirmations) {
        // The sync of this confirmation's commit starts after the previous confirmation and
        // returns before this one is written.
        const between = events.filter(
          (e) => e.start > previous && e.end < confirmation.start && isDataFile(e),
        );
        const sync = between.find((e) => ['fsync', 'fdatasync', 'msync', 'sync_file_range'].includes(e.call));
        expect(
          sync,
          `no completed sync of data.mdb before confirmation at ${confirmation.start}`,
        ).toBeDefined();
        // LMDB commits by syncing the data pages, then writing the meta page (its fd is O_DSYNC).
        const meta = between.find((e) => e.call === 'pwrite64' && sync !== undefined && e.start >= sync.end);
        expect(
          meta,
          `no meta page write after the sync before confirmation at ${confirmation.start}`,
        ).toBeDefined();
        previous = confirmation.start;
      }
    },
  );
});
