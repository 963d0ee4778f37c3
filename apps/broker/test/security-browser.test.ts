// Issue 13: what a page of another site can make a browser on the broker's machine do, in real
// headless Chromium against the BUILT broker — a cross-site form post with cached Basic credentials,
// framing the dashboard, DNS rebinding onto the management API, MQTT over WebSocket from a foreign page.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, launchChromium } from './support/chromium.js';
import { EPHEMERAL_PORTS, startCli, type RunningCli } from './support/cli-process.js';
import { api } from './support/http-api.js';

const skip = chromiumSkipReason('browser security test');

describe.skipIf(skip !== undefined)(`a foreign page in headless Chromium ${skip ?? ''}`, () => {
  let dir: string;
  let cli: RunningCli;
  let attacker: Server;
  let attackerPort: number;
  let context: BrowserContext;
  let page: Page;
  const pages = new Map<string, string>();
  const broker = (path = ''): string => `http://127.0.0.1:${cli.ports.get('http')}${path}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'conveyor-browser-sec-'));
    cli = await startCli([...EPHEMERAL_PORTS, '--memory', '--log-level', 'silent'], dir);
    attacker = createServer((req, res) => {
      const html = pages.get(req.url ?? '');
      if (html === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(html);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerPort = (attacker.address() as AddressInfo).port;
    context = await launchChromium(join(dir, 'profile'), {
      // The browser has guest/guest for the broker, as after a login it keeps answering challenges.
      httpCredentials: { username: 'guest', password: 'guest' },
      // evil.test and rebind.test resolve to this machine, as an attacker's DNS would make them.
      extraArgs: ['--host-resolver-rules=MAP evil.test 127.0.0.1, MAP rebind.test 127.0.0.1'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    await api(cli.ports.get('http')!).call('PUT', '/api/queues/%2F/victim', { durable: false });
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => attacker?.close(resolve));
    if (cli && cli.child.exitCode === null) await cli.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a cross-site text/plain form post does not send a message (CSRF): 415 before anything runs', async () => {
    // The classic JSON-in-a-text/plain-form trick: the name and value join into a JSON body.
    pages.set(
      '/csrf',
      `<form id="f" method="POST" enctype="text/plain" action="${broker('/api/queues/%2F/victim/send')}">
         <input name='{"body":"pwned","x":"' value='"}'></form>
       <script>document.getElementById('f').submit()</script>`,
    );
    const answered = page.waitForResponse((r) => r.url().includes('/victim/send'));
    await page.goto(`http://evil.test:${attackerPort}/csrf`);
    expect((await answered).status()).toBe(415);
    const queue = await api(cli.ports.get('http')!).call<{ ready: number }>('GET', '/api/queues/%2F/victim');
    expect(queue.body.ready).toBe(0);
  });

  it('the dashboard cannot be framed (clickjacking): CSP frame-ancestors none, X-Frame-Options DENY', async () => {
    pages.set('/frame', `<iframe id="d" src="${broker('/')}" width="800" height="600"></iframe>`);
    const framed = page.waitForResponse((r) => r.url() === broker('/'));
    await page.goto(`http://evil.test:${attackerPort}/frame`);
    const response = await framed;
    expect(response.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(response.headers()['x-frame-options']).toBe('DENY');
    // Chromium refused to render it: the frame holds no dashboard.
    const frame = page.frames().find((f) => f !== page.mainFrame());
    await expect.poll(async () => (await frame?.$('#login-form')) ?? null).toBeNull();
  });

  it('a rebinding-style Host is refused; localhost and IP addresses are served', async () => {
    const rebound = await page.goto(`http://rebind.test:${cli.ports.get('http')}/api/overview`);
    expect(rebound?.status()).toBe(421);
    const local = await page.goto(`http://localhost:${cli.ports.get('http')}/api/overview`);
    expect(local?.status()).toBe(200);
    const byIp = await page.goto(broker('/api/overview'));
    expect(byIp?.status()).toBe(200);
  });

  it('MQTT over WebSocket refuses a page of another origin; a page of the broker host itself gets in', async () => {
    const probe = `<script>
      window.result = new Promise((resolve) => {
        const ws = new WebSocket('ws://127.0.0.1:${cli.ports.get('mqtt-ws')}/ws', 'mqtt');
        ws.onopen = () => { resolve('open'); ws.close(); };
        ws.onerror = () => resolve('refused');
      });
    </script>`;
    pages.set('/ws', probe);
    await page.goto(`http://evil.test:${attackerPort}/ws`);
    expect(await page.evaluate(() => (window as unknown as { result: Promise<string> }).result)).toBe(
      'refused',
    );
    await page.goto(`http://127.0.0.1:${attackerPort}/ws`);
    expect(await page.evaluate(() => (window as unknown as { result: Promise<string> }).result)).toBe('open');
  });
});
