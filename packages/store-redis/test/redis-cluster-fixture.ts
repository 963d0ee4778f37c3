/**
 * A real 3-master Redis Cluster for the tests (with `replicas` per master if asked), started from Debian's `redis-server` on free ports
 * (each also needs port + 10000 free for the cluster bus) and joined with
 * `redis-cli --cluster create`. Skips with a reason where `redis-server` is absent; fails instead
 * under CI=true.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface TestCluster {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` */
  readonly url: string;
  readonly ports: readonly number[];
  /** SIGKILLs the Redis on `port` (a master's crash, for a failover). */
  kill(port: number): Promise<void>;
  /** Starts a killed node again, on its own config: it rejoins (a failed-over master as a replica). */
  restart(port: number): void;
  stop(): Promise<void>;
}

/** Why no cluster can be started here, or undefined. */
export function clusterUnavailable(): string | undefined {
  for (const bin of ['redis-server', 'redis-cli']) {
    if (spawnSync(bin, ['--version']).status === 0) continue;
    const reason = `${bin} is not installed (Debian: apt-get install redis-server redis-tools)`;
    if (process.env.CI === 'true') throw new Error(`${reason}; CI=true requires the Redis Cluster tests`);
    return reason;
  }
  return undefined;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `n` ports p with p and p + 10000 free, in 20000–29999. */
async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (out.includes(port)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) out.push(port);
  }
  return out;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting for ${what}`);
    await sleep(100);
  }
}

export async function startCluster(options: { replicas?: number } = {}): Promise<TestCluster> {
  const replicas = options.replicas ?? 0;
  const nodes = 3 * (1 + replicas);
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-redis-cluster-'));
  const ports = await freePorts(nodes);
  // A node started again keeps its nodes.conf: it rejoins the cluster as it was, or as a replica.
  const launch = (port: number): ChildProcess =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
        '--dir',
        dir,
        '--dbfilename',
        `dump-${port}.rdb`,
        '--appendonly',
        'no',
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    );
  const children = ports.map(launch);
  const killed = (c: ChildProcess) => {
    c.kill('SIGKILL');
    return c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : 0;
  };
  const kill = async (port: number) => {
    const child = children[ports.indexOf(port)];
    if (!child) throw new Error(`redis cluster: no node on ${port}`);
    await killed(child);
  };
  const restart = (port: number) => {
    const at = ports.indexOf(port);
    const child = children[at];
    if (!child || (child.exitCode === null && child.signalCode === null))
      throw new Error(`redis cluster: the node on ${port} is not stopped`);
    children[at] = launch(port);
  };
  const stop = async () => {
    await Promise.all(children.map(killed));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // redis-cli rather than a client: a probe of a server not yet up is an answer, not an error event.
    const cli = (port: number, ...args: string[]) =>
      spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
        encoding: 'utf8',
        timeout: 5_000,
      }).stdout ?? '';
    const ping = (port: number) => async () => cli(port, 'PING').trim() === 'PONG';
    for (const port of ports) await until(`redis-server on ${port}`, ping(port));
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    const ok = (port: number) => async () => {
      const info = cli(port, 'CLUSTER', 'INFO');
      return /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${nodes}\\b`).test(info);
    };
    for (const port of ports) await until(`cluster_state:ok on ${port}`, ok(port));
    // State ok comes before every bus link is up; a test starts on the whole mesh.
    const meshed = (port: number) => async () => {
      const lines = cli(port, 'CLUSTER', 'NODES').trim().split('\n');
      return lines.length === nodes && lines.every((l) => / connected/.test(l) && !/handshake|fail/.test(l));
    };
    for (const port of ports) await until(`every cluster bus link up on ${port}`, meshed(port));
    // A replica counts for WAIT once its initial sync is done.
    const synced = (port: number) => async () => {
      const info = cli(port, 'INFO', 'replication');
      return /role:master/.test(info)
        ? (info.match(/^slave\d+:.*state=online/gm) ?? []).length === replicas
        : /master_link_status:up/.test(info);
    };
    for (const port of ports) await until(`replication in sync on ${port}`, synced(port));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    ports,
    kill,
    restart,
    stop,
  };
}

/** Which master serves each key's slot: `CLUSTER KEYSLOT` asked of the cluster itself. */
export async function slotOf(cluster: TestCluster, key: string): Promise<number> {
  const r = new Redis({ port: cluster.ports[0], host: '127.0.0.1' });
  try {
    return Number(await r.cluster('KEYSLOT', key));
  } finally {
    r.disconnect();
  }
}

/** The port of the master that serves `key`'s slot. */
export async function masterPortOf(cluster: TestCluster, key: string): Promise<number> {
  const slot = await slotOf(cluster, key);
  const port = await masterOfSlot(cluster.ports[0] as number, slot);
  if (port === undefined) throw new Error(`no master serves slot ${slot}`);
  return port;
}

/** The port of the master serving `slot`, as the node on `askPort` sees it (after a failover, ask a survivor). */
export async function masterOfSlot(askPort: number, slot: number): Promise<number | undefined> {
  const r = new Redis({ port: askPort, host: '127.0.0.1' });
  try {
    const ranges = (await r.cluster('SLOTS')) as [number, number, [string, number]][];
    return ranges.find(([from, to]) => from <= slot && slot <= to)?.[2][1];
  } finally {
    r.disconnect();
  }
}

/**
 * The master (by port) that holds a broker queue's keys, found by SCAN on every node (the broker's
 * queue key qualifies the name), and their slot; undefined if none does yet.
 */
export async function queueHome(
  cluster: TestCluster,
  prefix: string,
  queue: string,
): Promise<{ master: number; slot: number } | undefined> {
  for (const port of cluster.ports) {
    const node = new Redis({ host: '127.0.0.1', port });
    try {
      const [, keys] = await node.scan('0', 'MATCH', `${prefix}{q:*${queue}}:counts`, 'COUNT', 100_000);
      const [key] = keys;
      // A replica holds the same keys; the master is the one that serves them.
      if (key && /role:master/.test(await node.info('replication')))
        return { master: port, slot: Number(await node.cluster('KEYSLOT', key)) };
    } finally {
      node.disconnect();
    }
  }
  return undefined;
}
