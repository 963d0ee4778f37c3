// Issue 14, items 1 and 2: a NestJS app in a directory OUTSIDE the workspace installs @conveyor/*
// from their `npm pack` tarballs only (no workspace, no links), builds with the TypeScript it pins,
// for ESM (NodeNext) and for CommonJS, and runs one-way, request and broadcast embedded and against
// the `conveyor` CLI installed from its tarball. A linked install is refused loudly at start.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP_SOURCES = fileURLToPath(new URL('./app', import.meta.url));
const NEST = { '@nestjs/common': '^12.5.1', '@nestjs/core': '^12.5.1', '@nestjs/microservices': '^12.1.1' };
const PEERS = { ...NEST, 'reflect-metadata': '^0.2.2', rxjs: '^7.8.2' };
/** The TypeScript the app pins (the workspace's, so it comes from the npm cache). */
const TYPESCRIPT = '6.0.3';
const TIMEOUT = 240_000;

function tsconfig(module: 'NodeNext'): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module,
      moduleResolution: 'NodeNext',
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      skipLibCheck: false,
      outDir: 'dist',
      types: ['node'],
    },
    include: ['*.ts'],
  });
}

/** An app folder with its own package.json `type`, compiled by the app's TypeScript. */
function writeApp(dir: string, type: 'module' | 'commonjs'): void {
  mkdirSync(dir, { recursive: true });
  cpSync(APP_SOURCES, dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type }));
  writeFileSync(join(dir, 'tsconfig.json'), tsconfig('NodeNext'));
}

async function npmInstall(dir: string, dependencies: Record<string, string>): Promise<void> {
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'conveyor-consumer', version: '1.0.0', private: true, dependencies }),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error'], {
    cwd: dir,
    timeout: TIMEOUT,
  });
}

/** Runs the built app (embedded, or against `url`): its one-way, request and broadcast all arrived. */
async function runsAllPatterns(dir: string, flavour: string, url?: string): Promise<void> {
  const args = [join(dir, flavour, 'dist/main.js'), ...(url === undefined ? [] : [url])];
  const { stdout } = await run(process.execPath, args, { cwd: dir, timeout: 30_000 });
  expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
    jobs: [7],
    sum: 5,
    news: ['hello'],
    timeoutIsExported: true,
  });
}

describe('@conveyor/* installed from tarballs, outside the workspace', () => {
  let dir: string;
  let tarballs: Record<string, string>;
  beforeAll(async () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts/pack.mjs')], { cwd: ROOT, stdio: 'ignore' });
    const packed = join(ROOT, 'packed');
    tarballs = Object.fromEntries(
      readdirSync(packed).map((file) => [
        `@conveyor/${file.replace(/^conveyor-|-\d.*$/g, '')}`,
        `file:${join(packed, file)}`,
      ]),
    );
    dir = mkdtempSync(join(tmpdir(), 'conveyor-consumer-'));
    await npmInstall(dir, { ...tarballs, ...PEERS, '@types/node': '^20.19.0', typescript: TYPESCRIPT });
    writeApp(join(dir, 'esm'), 'module');
    writeApp(join(dir, 'cjs'), 'commonjs');
    const tsc = join(dir, 'node_modules/typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', 'esm'], { cwd: dir });
    await run(process.execPath, [tsc, '-p', 'cjs'], { cwd: dir });
  }, TIMEOUT);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("one copy of NestJS: the app's (@conveyor/nestjs declares it as a peer)", async () => {
    const { stdout } = await run('npm', ['ls', '@nestjs/microservices', '--all', '--parseable'], {
      cwd: dir,
    });
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const manifest = JSON.parse(
      readFileSync(join(dir, 'node_modules/@conveyor/nestjs/package.json'), 'utf8'),
    ) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
    };
    for (const name of Object.keys(PEERS)) {
      expect(manifest.peerDependencies).toHaveProperty(name);
      expect(manifest.dependencies).not.toHaveProperty(name);
    }
  });

  it.each(['esm', 'cjs'])('%s: one-way, request and broadcast on the embedded engine', async (flavour) => {
    await runsAllPatterns(dir, flavour);
  });

  it.each(['esm', 'cjs'])(
    '%s: the same against `conveyor start` installed from its tarball',
    async (flavour) => {
      const broker = spawn(
        join(dir, 'node_modules/.bin/conveyor'),
        [
          'start',
          '--memory',
          '--bind',
          '127.0.0.1',
          '--amqp-port',
          '0',
          '--mqtt-port',
          'off',
          '--mqtt-ws-port',
          'off',
          '--http-port',
          'off',
          '--log-level',
          'silent',
        ],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let out = '';
          broker.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const match = /^amqp listening on [^:]+:(\d+)$/m.exec(out);
            if (match && /conveyor ready/.test(out)) resolve(Number(match[1]));
          });
          broker.on('exit', (code) => reject(new Error(`conveyor exited ${code}`)));
        });
        await runsAllPatterns(dir, flavour, `amqp://guest:guest@127.0.0.1:${port}`);
      } finally {
        broker.kill('SIGTERM');
      }
    },
  );
});

describe('@conveyor/nestjs linked (npm install <path>), not installed', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'conveyor-linked-'));
    // npm links a directory dependency: Node then resolves the package's imports from the monorepo.
    await npmInstall(dir, {
      '@conveyor/nestjs': `file:${join(ROOT, 'packages/nestjs')}`,
      '@conveyor/core': `file:${join(ROOT, 'packages/core')}`,
      ...PEERS,
      '@types/node': '^20.19.0',
    });
    writeApp(join(dir, 'esm'), 'module');
    // Compiled without type checks: two copies of Nest's types clash too, but the point is the run.
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'esm', '--noCheck'], {
      cwd: dir,
    });
  }, TIMEOUT);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fails at start, loudly, naming both copies and the fix', async () => {
    const attempt = run(process.execPath, [join(dir, 'esm/dist/main.js')], { cwd: dir, timeout: 30_000 });
    await expect(attempt).rejects.toMatchObject({
      stderr: expect.stringMatching(
        /DuplicateNestError: two copies of @nestjs\/microservices are loaded.*install-links/s,
      ),
    });
  });
});
