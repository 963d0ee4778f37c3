// One `conveyor start` process of the BUILT CLI on ephemeral loopback ports, as a user would run it.
// Resolves once it printed "conveyor ready", with the ports read from its "<name> listening on" lines.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Never the defaults: a real RabbitMQ / Mosquitto hold 5672 / 1883 on this machine. */
const EPHEMERAL = [
  '--amqp-port',
  '0',
  '--mqtt-port',
  '0',
  '--mqtt-ws-port',
  '0',
  '--http-port',
  '0',
  '--bind',
  '127.0.0.1',
];

/** CPU milliseconds a process has used in user and in system mode, from /proc (USER_HZ = 100); NaN once it is gone. */
function processCpu(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return { user: (Number(fields[11]) * 1000) / 100, system: (Number(fields[12]) * 1000) / 100 };
  } catch {
    return { user: NaN, system: NaN };
  }
}

/** CPU milliseconds (user + system) a process has used; NaN once it is gone. */
export function processCpuMs(pid) {
  const { user, system } = processCpu(pid);
  return user + system;
}

/** A process's system CPU milliseconds (the kernel's share of processCpuMs); NaN once it is gone. */
export const processSystemMs = (pid) => processCpu(pid).system;

/** Read and write system calls a process has made (/proc/<pid>/io syscr, syscw); NaN once it is gone. */
export function processSyscalls(pid) {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? NaN);
    return { reads: field('syscr'), writes: field('syscw') };
  } catch {
    return { reads: NaN, writes: NaN };
  }
}

/**
 * Starts one node. `store`: { kind: 'lmdb' } (a fresh --data-dir), { kind: 'memory' } or
 * { kind: 'redis', url } (the URL carries ?prefix=). Rejects if the process exits before it is ready.
 * `profileDir`: run under `node --cpu-prof`, the profile written there when the node stops.
 */
export async function startBroker(cliPath, store, { readyTimeoutMs = 60_000, profileDir } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'conveyor-scale-out-'));
  // The CLI takes exactly one store flag. Every node runs in its own directory, so nothing lands in ./data.
  const storeArgs =
    store.kind === 'memory'
      ? ['--memory']
      : store.kind === 'redis'
        ? ['--store', store.url]
        : ['--data-dir', join(dataDir, 'data')];
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const args = [...profile, cliPath, 'start', ...EPHEMERAL, ...storeArgs, '--log-level', 'warn'];
  const child = spawn(process.execPath, args, { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));

  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`conveyor not ready in ${readyTimeoutMs} ms`)),
      readyTimeoutMs,
    );
    const onData = () => {
      if (/^conveyor ready$/m.test(out)) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(`conveyor exited before ready (${code ?? signal}): ${(err || out).trim().slice(-2000)}`),
      );
    });
  }).catch((error) => {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });

  const ports = new Map();
  for (const m of out.matchAll(/^(\S+) listening on (?:\[[^\]]+\]|[^:\s]+):(\d+)$/gm))
    ports.set(m[1], Number(m[2]));
  const amqpPort = ports.get('amqp');
  if (!amqpPort) throw new Error(`conveyor printed no amqp port:\n${out}`);

  return {
    pid: child.pid,
    amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
    cpuMs: () => processCpuMs(child.pid),
    systemMs: () => processSystemMs(child.pid),
    syscalls: () => processSyscalls(child.pid),
    /** Everything it wrote since start (warnings, errors), for the report when something went wrong. */
    output: () => (out + err).replace(/^(\S+ listening on .*|conveyor ready)\n/gm, ''),
    /** SIGTERM (a clean close), SIGKILL after `graceMs`; always removes its data directory. */
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
      return exit;
    },
  };
}
