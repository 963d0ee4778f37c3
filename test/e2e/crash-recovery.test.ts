// A broker killed with SIGKILL mid-stream loses no confirmed message: every send that resolved
// (an AMQP confirm, once the door is wired) is there after a restart, exactly once.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, startCli } from '../../apps/broker/test/support/cli-process.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/durable-publisher.mjs', import.meta.url));
const ROUNDS = 4;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-crash-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the publisher until it has confirmed at least `atLeast` messages, then SIGKILLs it. */
function publishThenKill(dataDir: string, prefix: string, atLeast: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, 'publish', dataDir, prefix], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const confirmed: string[] = [];
    let stderr = '';
    let pending = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('C ')) confirmed.push(line.slice(2));
      // Kill mid-stream: sends of the next batch are in flight while this one is being read.
      if (confirmed.length >= atLeast && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve(confirmed);
      else reject(new Error(`publisher exited with ${code}: ${stderr}`));
    });
  });
}

function listIds(dataDir: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, 'list', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout.split('\n').filter(Boolean))
        : reject(new Error(`list exited with ${code}: ${stderr}`)),
    );
  });
}

describe('crash recovery of the durable store', () => {
  it(`keeps every confirmed persistent message across ${ROUNDS} SIGKILLs mid-stream`, async () => {
    const dataDir = join(dir, 'engine');
    const confirmed: string[] = [];
    const attempted = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const ids = await publishThenKill(dataDir, `r${round}`, 1500 + round * 300);
      expect(ids.length).toBeGreaterThan(0);
      confirmed.push(...ids);
      attempted.add(`r${round}`);
    }
    const present = await listIds(dataDir);
    expect(new Set(present).size).toBe(present.length); // nothing twice
    const presentSet = new Set(present);
    const missing = confirmed.filter((id) => !presentSet.has(id));
    expect(missing).toEqual([]);
    // Unconfirmed sends may or may not have made it, but only ids that were sent can be there.
    for (const id of present) expect(attempted.has(id.split('-')[0] as string)).toBe(true);
    expect(present.length).toBeGreaterThanOrEqual(confirmed.length);
  }, 60_000);

  it('keeps every confirmed AMQP publish (publisher confirms) across SIGKILLs of `conveyor start`', async () => {
    const dataDir = join(dir, 'cli');
    const amqp = await import('amqplib');
    const confirmed: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const cli = await startCli([...EPHEMERAL_PORTS, '--data-dir', dataDir, '--log-level', 'silent'], dir);
      const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${cli.ports.get('amqp')}`);
      connection.on('error', () => undefined); // the broker is about to die under it
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => undefined);
      await channel.assertQueue('crash', { durable: true });
      // Kill once this round has `target` confirms: later publishes are still in flight.
      const target = 500 + round * 100;
      let sent = 0;
      let roundConfirmed = 0;
      await new Promise<void>((resolve) => {
        const publishOne = (): void => {
          if (cli.child.killed) return;
          const id = `a${round}-${sent++}`;
          channel.sendToQueue('crash', Buffer.alloc(256, 1), { persistent: true, messageId: id }, (err) => {
            if (err) return;
            confirmed.push(id);
            if (++roundConfirmed >= target && !cli.child.killed) {
              cli.child.kill('SIGKILL');
              resolve();
            }
          });
          setImmediate(publishOne);
        };
        publishOne();
      });
      await cli.exited;
    }
    const cli = await startCli([...EPHEMERAL_PORTS, '--data-dir', dataDir, '--log-level', 'silent'], dir);
    try {
      const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${cli.ports.get('amqp')}`);
      const channel = await connection.createChannel();
      const present: string[] = [];
      for (;;) {
        const got = await channel.get('crash', { noAck: true });
        if (got === false) break;
        present.push(String(got.properties.messageId));
      }
      await connection.close();
      expect(new Set(present).size).toBe(present.length);
      const presentSet = new Set(present);
      expect(confirmed.filter((id) => !presentSet.has(id))).toEqual([]);
    } finally {
      await cli.stop();
    }
  }, 60_000);
});
