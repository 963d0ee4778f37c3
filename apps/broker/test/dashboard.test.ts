// The web dashboard in a real headless Chromium against the BUILT broker: login, live queue depth,
// dead-letter peek with its reason, redrive, purge. Saves a screenshot for people to look at.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { connectAsync, type MqttClient } from 'mqtt';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, launchChromium } from './support/chromium.js';
import { EPHEMERAL_PORTS, startCli, type RunningCli } from './support/cli-process.js';

const SCREENSHOT = fileURLToPath(new URL('./artifacts/dashboard.png', import.meta.url));
const skip = chromiumSkipReason('dashboard test');
const SEEN = { timeout: 10_000 };

describe.skipIf(skip !== undefined)(`dashboard in headless Chromium ${skip ?? ''}`, () => {
  let dir: string;
  let cli: RunningCli;
  let context: BrowserContext;
  let page: Page;
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  let mqttClient: MqttClient;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'conveyor-dashboard-'));
    cli = await startCli([...EPHEMERAL_PORTS, '--http-port', '0', '--memory', '--log-level', 'warn'], dir);
    context = await launchChromium(join(dir, 'chromium-profile'), {
      viewport: { width: 1360, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      // The refused login below is a 401 on purpose; Chromium logs every failed load.
      if (msg.type() === 'error' && !/status of 401/.test(msg.text())) pageErrors.push(msg.text());
    });
    connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${cli.ports.get('amqp')}`);
    channel = await connection.createConfirmChannel();
    mqttClient = await connectAsync(`mqtt://127.0.0.1:${cli.ports.get('mqtt')}`, {
      clientId: 'dashboard-sensor',
      username: 'guest',
      password: 'guest',
    });
  }, 60_000);

  afterAll(async () => {
    await connection?.close().catch(() => undefined);
    await mqttClient?.endAsync().catch(() => undefined);
    await context?.close();
    if (cli && cli.child.exitCode === null) await cli.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const queueRow = (name: string): Locator => page.locator(`#queues tbody tr[data-queue="${name}"]`);
  const dlqRow = (name: string): Locator => page.locator(`#dlqs tbody tr[data-queue="${name}"]`);
  const field = (row: Locator, name: string) => () => row.locator(`[data-field="${name}"]`).textContent();

  it('refuses a wrong password with a visible message, then logs in as guest', async () => {
    expect(cli.ports.get('http')).toBeGreaterThan(0);
    await page.goto(`http://127.0.0.1:${cli.ports.get('http')}/`);
    await page.getByLabel('Username').fill('guest');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), SEEN).toContain('did not accept');
    expect(await page.locator('#app').isHidden()).toBe(true);

    await page.getByLabel('Password').fill('guest');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Queues', exact: true }).waitFor(SEEN);
    await expect.poll(() => page.getByRole('alert').isHidden(), SEEN).toBe(true);
    await expect.poll(() => page.locator('#session-user').textContent(), SEEN).toBe('Signed in as guest');
  });

  it('shows a queue once a client declares it, and its depth once messages are published', async () => {
    await channel.assertQueue('dash-orders');
    const row = queueRow('dash-orders');
    await row.waitFor(SEEN);
    await expect.poll(field(row, 'ready'), SEEN).toBe('0');

    for (let i = 0; i < 3; i++) channel.sendToQueue('dash-orders', Buffer.from(`order ${i}`));
    await channel.waitForConfirms();
    await expect.poll(field(row, 'ready'), SEEN).toBe('3');
    await expect.poll(field(page.locator('#overview'), 'ready'), SEEN).toBe('3');
    expect(await row.locator('svg.spark').count()).toBe(2);
  });

  it('lists the AMQP and MQTT connections', async () => {
    const rows = page.locator('#connections tbody tr');
    await expect.poll(() => rows.count(), SEEN).toBe(2);
    const amqpRow = rows.filter({ hasText: 'AMQP' });
    expect(await amqpRow.textContent()).toMatch(/127\.0\.0\.1.*guest/);
    expect(await amqpRow.locator('td').nth(4).textContent()).toBe('1'); // its one channel
    const mqttRow = rows.filter({ hasText: 'MQTT' });
    expect(await mqttRow.textContent()).toContain('dashboard-sensor');
    expect(await mqttRow.locator('td').nth(2).textContent()).toBe('guest');
    await expect.poll(field(page.locator('#overview'), 'connections'), SEEN).toBe('2');
  });

  it('peeks a rejected message in the dead-letter queue with its reason, redrives it and sees the counts move', async () => {
    await channel.assertQueue('dash-work.dlq');
    await channel.assertQueue('dash-work', {
      deadLetterExchange: '',
      deadLetterRoutingKey: 'dash-work.dlq',
    });
    channel.sendToQueue('dash-work', Buffer.from('{"job":"resize","id":42}'), {
      contentType: 'application/json',
    });
    await channel.waitForConfirms();
    const got = await channel.get('dash-work');
    if (got === false) throw new Error('dash-work was empty');
    channel.nack(got, false, false);

    const dlq = dlqRow('dash-work.dlq');
    await dlq.waitFor(SEEN);
    await expect.poll(field(dlq, 'messages'), SEEN).toBe('1');
    expect(await field(dlq, 'sources')()).toBe('dash-work');
    await expect.poll(field(queueRow('dash-work'), 'ready'), SEEN).toBe('0');

    await page.getByRole('button', { name: 'Peek dash-work.dlq' }).click();
    const peeked = page.locator('#peek tbody tr');
    await peeked.first().waitFor(SEEN);
    expect(await peeked.count()).toBe(1);
    expect(await field(peeked, 'reason')()).toBe('rejected');
    expect(await field(peeked, 'queue')()).toBe('dash-work');
    expect(await field(peeked, 'count')()).toBe('1');
    expect(await field(peeked, 'time')()).not.toBe('–');
    expect(await peeked.textContent()).toContain('"job":"resize"');

    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    await page.getByRole('button', { name: 'Redrive dash-work.dlq' }).click();
    await expect.poll(() => page.getByRole('status').textContent(), SEEN).toContain('Redrove 1 message');
    await expect.poll(field(queueRow('dash-work'), 'ready'), SEEN).toBe('1');
    await expect.poll(field(dlq, 'messages'), SEEN).toBe('0');
    await expect.poll(() => page.locator('#peek').textContent(), SEEN).toContain('dash-work.dlq is empty');
  });

  it('lists a queue fed by a named dead-letter exchange as a dead-letter queue, with its source', async () => {
    await channel.assertExchange('dash-dlx', 'fanout');
    await channel.assertQueue('dash-parked');
    await channel.bindQueue('dash-parked', 'dash-dlx', '');
    await channel.assertQueue('dash-payments', { deadLetterExchange: 'dash-dlx' });
    const parked = dlqRow('dash-parked');
    await parked.waitFor(SEEN);
    expect(await field(parked, 'sources')()).toBe('dash-payments');
    expect(await dlqRow('dash-payments').count()).toBe(0);
  });

  it('purges a queue only after confirmation', async () => {
    const row = queueRow('dash-orders');
    await page.getByRole('button', { name: 'Purge dash-orders' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor(SEEN);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForTimeout(1_500); // two polls: nothing may have changed
    expect(await field(row, 'ready')()).toBe('3');

    await page.getByRole('button', { name: 'Purge dash-orders' }).click();
    await dialog.getByRole('button', { name: 'Purge' }).click();
    await expect.poll(field(row, 'ready'), SEEN).toBe('0');
    expect(pageErrors).toEqual([]);
  });

  it('says so in a visible alert when the broker stops answering', async () => {
    await cli.stop();
    await expect
      .poll(() => page.getByRole('alert').textContent(), SEEN)
      .toContain('The broker is unreachable');
    expect(await page.getByRole('alert').isVisible()).toBe(true);
  });
});
