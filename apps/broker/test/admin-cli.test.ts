// The operator subcommands (`conveyor queues`, `peek`, `send`, …) as users run them: the built CLI
// in child processes against a REAL running broker.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, runCli, startCli, type RunningCli } from './support/cli-process.js';
import { api, type Api } from './support/http-api.js';

let dir: string;
let cli: RunningCli;
let http: Api;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-admin-'));
  cli = await startCli([...EPHEMERAL_PORTS, '--memory', '--log-level', 'warn'], dir);
  http = api(cli.ports.get('http')!);
  url = http.base;
  await http.call('PUT', '/api/queues/%2F/jobs', { durable: false });
  await http.call('PUT', '/api/queues/%2F/jobs-dlq', { durable: false });
});
afterAll(async () => {
  if (cli.child.exitCode === null) await cli.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `conveyor <args> --url <broker>`. */
function conveyor(...args: string[]): ReturnType<typeof runCli> {
  return runCli([...args, '--url', url], dir);
}

describe('operator subcommands', () => {
  it('send, then queues and count show the message (table and --json)', async () => {
    const sent = await conveyor('send', 'jobs', 'hello world', '--header', 'tenant=a', '--persistent');
    expect(sent).toMatchObject({ code: 0, stdout: 'sent to jobs\n', stderr: '' });

    const table = await conveyor('queues');
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^NAME\s+READY\s+IN FLIGHT\s+DELAYED\s+CONSUMERS\s+PUBLISH\/S\s+DELIVER\/S\s+ACK\/S\s+DEAD-LETTERED\s+POLICY$/,
    );
    expect(lines.find((l) => l.startsWith('jobs '))).toMatch(/^jobs\s+1\s+0\s+0\s+0\s/);

    const json = await conveyor('queues', '--json');
    const queues = JSON.parse(json.stdout) as { name: string; ready: number }[];
    expect(queues.find((q) => q.name === 'jobs')?.ready).toBe(1);

    const count = await conveyor('count', 'jobs');
    expect(count.stdout).toBe('jobs: 1 ready, 0 in flight, 0 delayed (11 bytes); 0 consumers\n');
    expect(JSON.parse((await conveyor('count', 'jobs', '--json')).stdout)).toMatchObject({
      name: 'jobs',
      ready: 1,
    });
  });

  it('peek lists messages without taking them; take by id leases one, --ack removes it', async () => {
    await conveyor('send', 'jobs', 'second');
    const peek = await conveyor('peek', 'jobs', '-n', '5');
    expect(peek.code).toBe(0);
    const rows = peek.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^ID\s+STATE\s+DELIVERIES\s+ROUTING KEY\s+PAYLOAD$/);
    expect(rows.slice(1).map((r) => r.split(/\s{2,}/).at(-1))).toEqual(['hello world', 'second']);

    const peeked = JSON.parse((await conveyor('peek', 'jobs', '-n', '1', '--json')).stdout) as {
      id: string;
    }[];
    expect(peeked).toHaveLength(1);
    const take = await conveyor('take', 'jobs', peeked[0]!.id, '--ack');
    expect(take.code).toBe(0);
    expect(take.stdout).toMatch(/^id:\s+\S+\nholder:\s+\S+/);
    expect(take.stdout).toContain('\nhello world\nacked\n');
    const left = JSON.parse((await conveyor('count', 'jobs', '--json')).stdout) as {
      ready: number;
      inFlight: number;
    };
    expect(left).toMatchObject({ ready: 1, inFlight: 0 });
  });

  it('receive --ack takes and acknowledges; receive --wait waits; an empty queue prints "no messages"', async () => {
    const received = await conveyor('receive', 'jobs', '--max', '5', '--ack');
    expect(received.code).toBe(0);
    expect(received.stdout).toContain('\nsecond\n');
    expect(received.stdout).toMatch(/acked 1\n$/);

    const empty = await conveyor('receive', 'jobs', '--wait', '0.3');
    expect(empty).toMatchObject({ code: 0, stdout: 'no messages\n' });

    const waiting = conveyor('receive', 'jobs', '--wait', '10', '--json', '--lease', '1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await http.call('POST', '/api/queues/%2F/jobs/send', { payload: 'arrived' });
    const got = await waiting;
    const deliveries = JSON.parse(got.stdout) as { payload: string; leaseUntil: number }[];
    expect(deliveries.map((d) => d.payload)).toEqual(['arrived']);
  });

  it('[issue 14, item 7] peek shows why a dead letter died in a REASON column, without --json', async () => {
    await http.call('PUT', '/api/queues/%2F/poison-dlq', { durable: false });
    await http.call('PUT', '/api/queues/%2F/poison', {
      durable: false,
      deadLetter: { exchange: '', routingKey: 'poison-dlq' },
    });
    await conveyor('send', 'poison', 'bad payload');
    const received = await http.call<{ id: string; holder: string }[]>(
      'POST',
      '/api/queues/%2F/poison/receive',
      {},
    );
    await http.call('POST', '/api/queues/%2F/poison/dead-letter', {
      deliveries: [{ id: received.body[0]!.id, holder: received.body[0]!.holder }],
      reason: 'amount must be positive',
    });
    const peek = await conveyor('peek', 'poison-dlq');
    const [header, row] = peek.stdout.trim().split('\n');
    expect(header).toMatch(/^ID\s+STATE\s+DELIVERIES\s+ROUTING KEY\s+REASON\s+PAYLOAD$/);
    expect(row).toMatch(/rejected: amount must be positive\s+bad payload$/);
    // A queue of live messages has no REASON column.
    expect((await conveyor('peek', 'jobs')).stdout).not.toMatch(/REASON/);
  });

  it('purge empties a queue; redrive moves dead letters back (--to)', async () => {
    await conveyor('send', 'jobs', 'x');
    const purge = await conveyor('purge', 'jobs');
    expect(purge.code).toBe(0);
    expect(purge.stdout).toMatch(/^purged \d+ messages from jobs\n$/);

    await conveyor('send', 'jobs-dlq', 'dead one');
    const redrive = await conveyor('redrive', 'jobs-dlq', '--to', 'jobs');
    expect(redrive).toMatchObject({ code: 0, stdout: 'moved 1 messages from jobs-dlq to jobs\n' });
    expect(JSON.parse((await conveyor('redrive', 'jobs-dlq', '--json')).stdout)).toEqual({ moved: 0 });
  });

  it('stats prints the overview; --json gives the API answer', async () => {
    const stats = await conveyor('stats');
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^version:\s+\d+\.\d+\.\d+$/m);
    expect(stats.stdout).toMatch(/^store:\s+memory$/m);
    expect(stats.stdout).toMatch(/^connections:\s+0 amqp, 0 mqtt$/m);
    const json = JSON.parse((await conveyor('stats', '--json')).stdout) as {
      messageStats: { published: number };
    };
    expect(json.messageStats.published).toBeGreaterThan(0);
  });

  it('takes the URL and credentials from CONVEYOR_URL / CONVEYOR_USER / CONVEYOR_PASSWORD', async () => {
    const ok = await runCli(['count', 'jobs'], dir, {
      CONVEYOR_URL: url,
      CONVEYOR_USER: 'guest',
      CONVEYOR_PASSWORD: 'guest',
    });
    expect(ok.code).toBe(0);
    const refused = await runCli(['count', 'jobs'], dir, { CONVEYOR_URL: url, CONVEYOR_PASSWORD: 'wrong' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'conveyor: 401 UNAUTHORIZED: wrong username or password (set --user/--password or CONVEYOR_USER/CONVEYOR_PASSWORD)\n',
    );
  });
});

describe('operator subcommands fail with one line and a non-zero exit code', () => {
  it('for an unknown queue', async () => {
    const exit = await conveyor('count', 'nope');
    expect(exit).toMatchObject({
      code: 1,
      stdout: '',
      stderr: "conveyor: 404 QUEUE_NOT_FOUND: no queue 'nope' in vhost '/'\n",
    });
  });

  it('when no broker answers at the URL', async () => {
    const closed = createServer();
    const port = await new Promise<number>((resolve) =>
      closed.listen(0, '127.0.0.1', () => resolve((closed.address() as AddressInfo).port)),
    );
    await new Promise((resolve) => closed.close(resolve));
    const exit = await runCli(['queues', '--url', `http://127.0.0.1:${port}`], dir);
    expect(exit.code).toBe(1);
    expect(exit.stderr).toBe(`conveyor: cannot reach the broker at http://127.0.0.1:${port}: ECONNREFUSED\n`);
  });

  it('for a bad option value (commander usage error)', async () => {
    const exit = await conveyor('peek', 'jobs', '-n', 'many');
    expect(exit.code).not.toBe(0);
    expect(exit.stderr).toMatch(/--count must be a positive whole number/);
  });
});
