// A redis-server of its own under valgrind's callgrind, on a free loopback port, for the benches
// that count Redis's instructions (script-instructions.mjs, call-instructions.mjs).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

/** Instructions (Ir) in a callgrind dump's totals line. */
const totalIr = (file) => Number(/^totals: (\d+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? NaN);

/**
 * Starts `server` (a redis-server binary) under callgrind. `zero()` resets its counters, `dump()`
 * writes them to a file of their own and returns the instructions since the last zero;
 * `dumps` lists those files in order; `stop()` shuts Redis down and returns valgrind's stderr.
 */
export async function startCallgrindRedis(server = 'redis-server') {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-callgrind-'));
  const port = await freePort();
  const redis = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${join(dir, 'callgrind.out.%p')}`,
      server,
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  redis.stderr.on('data', (d) => (stderr += d));
  // A bench that fails before stop() would leave Redis running under valgrind, counting on.
  const orphaned = () => redis.kill('SIGKILL');
  process.once('exit', orphaned);
  const exited = new Promise((resolve) => redis.once('exit', resolve));
  const control = (flag) => execFileSync('callgrind_control', [flag, String(redis.pid)], { stdio: 'pipe' });
  const dumps = [];
  return {
    url: `redis://127.0.0.1:${port}`,
    dumps,
    zero: () => control('-z'),
    dump() {
      const before = new Set(readdirSync(dir));
      control('-d');
      const file = readdirSync(dir).find((f) => !before.has(f) && f.startsWith('callgrind.out.'));
      if (!file) throw new Error(`no callgrind dump in ${dir}`);
      dumps.push(join(dir, file));
      return totalIr(join(dir, file));
    },
    async stop() {
      process.off('exit', orphaned);
      redis.kill('SIGTERM'); // Redis shuts down on it; valgrind then writes its last dump
      await exited;
      return stderr;
    },
  };
}
