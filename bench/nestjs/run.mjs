// NestJS benchmark: @Request / @OneWay embedded and remote (over `conveyor start`), and Nest's own
// Transport.RMQ against the same `conveyor start` and against the real RabbitMQ — with its defaults
// (noAck, non-persistent) and durable (noAck false, persistent, prefetch 10). Sequential round trips
// (each awaited) and 500 in parallel; medians of --runs runs; ratios against Nest RMQ's defaults.
//   npm run build && npm run bench:nestjs [-- --runs 3 --count 500]
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import { assertLoopback, median } from '../amqp/lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    count: { type: 'string', default: '500' },
    parallel: { type: 'string', default: '500' },
  },
});
const RABBITMQ_URL = assertLoopback(process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672');

async function startConveyor() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-nestjs-'));
  const cli = join(here, '../../apps/broker/dist/cli.js');
  const args = ['start', '--data-dir', join(dir, 'data'), '--bind', '127.0.0.1', '--amqp-port', '0'];
  for (const flag of ['--mqtt-port', '--mqtt-ws-port', '--http-port']) args.push(flag, 'off');
  const child = spawn(process.execPath, [cli, ...args, '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^amqp listening on [^:]+:(\d+)$/m.exec(out);
      if (m && out.includes('conveyor ready')) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`conveyor exited ${code}`)));
  });
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    stop: () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const conveyor = await startConveyor();
const cases = [
  ['@Request/@OneWay embedded', 'conveyor-embedded', '-'],
  ['@Request/@OneWay remote → conveyor start', 'conveyor-remote', conveyor.url],
  ['Nest RMQ defaults → conveyor start', 'rmq-defaults', conveyor.url],
  ['Nest RMQ durable → conveyor start', 'rmq-durable', conveyor.url],
  ['Nest RMQ defaults → RabbitMQ', 'rmq-defaults', RABBITMQ_URL],
  ['Nest RMQ durable → RabbitMQ', 'rmq-durable', RABBITMQ_URL],
];
const FIELDS = ['requestSequential', 'requestParallel', 'oneWaySequential', 'oneWayParallel'];
const results = new Map();
try {
  for (let r = 0; r < Number(opt.runs); r++) {
    for (const [name, mode, url] of cases) {
      const { stdout } = await run(
        process.execPath,
        [join(here, 'app.mjs'), mode, url, opt.count, opt.parallel],
        {
          timeout: 300_000,
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      const line = JSON.parse(stdout.trim().split('\n').pop());
      if (line.handled < line.expected)
        throw new Error(`${name}: only ${line.handled} of ${line.expected} events handled`);
      const all = results.get(name) ?? [];
      all.push(line);
      results.set(name, all);
      process.stderr.write(`run ${r + 1} ${name}: ${FIELDS.map((f) => Math.round(line[f])).join(' / ')}\n`);
    }
  }
} finally {
  conveyor.stop();
}

const medians = new Map(
  [...results].map(([name, runs]) => [
    name,
    Object.fromEntries(FIELDS.map((f) => [f, median(runs.map((x) => x[f]))])),
  ]),
);
const base = medians.get('Nest RMQ defaults → conveyor start');
console.log(
  `\nmedians of ${opt.runs} runs, ${opt.count} sequential / ${Number(opt.count) * 4} at ${opt.parallel} in parallel (calls/s; × = against Nest RMQ defaults → conveyor start)\n`,
);
console.log(['case', 'request seq', 'request ∥', 'one-way seq', 'one-way ∥'].join(' | '));
for (const [name, m] of medians)
  console.log(
    [name, ...FIELDS.map((f) => `${Math.round(m[f])} (${(m[f] / base[f]).toFixed(2)}×)`)].join(' | '),
  );
