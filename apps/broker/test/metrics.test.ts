// /metrics of a REAL broker process after amqplib traffic: Prometheus text with per-queue
// counters, depth gauges, connections per protocol, the publish→ack histogram, process metrics.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel } from 'amqplib';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_PORTS, startCli, type RunningCli } from './support/cli-process.js';
import { api, type Api } from './support/http-api.js';

let dir: string;
let cli: RunningCli;
let http: Api;
let connection: ChannelModel;

/** The value of one sample line, e.g. `conveyor_queue_messages_ready{vhost="/",queue="m"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-metrics-'));
  cli = await startCli([...EPHEMERAL_PORTS, '--memory', '--log-level', 'warn'], dir);
  http = api(cli.ports.get('http')!);
  connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${cli.ports.get('amqp')}`);
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue('m-dlq', { durable: false });
  await channel.assertQueue('m', { durable: false, deadLetterExchange: '', deadLetterRoutingKey: 'm-dlq' });
  for (let i = 0; i < 5; i++) channel.sendToQueue('m', Buffer.from(`msg ${i}`));
  await channel.waitForConfirms();
  // 3 acked, 1 rejected to the DLQ, 1 left ready.
  for (let i = 0; i < 4; i++) {
    const got = await channel.get('m');
    if (!got) throw new Error('expected a message');
    if (i < 3) channel.ack(got);
    else channel.reject(got, false);
  }
  await channel.waitForConfirms();
  await new Promise((resolve) => setTimeout(resolve, 100)); // acks are fire-and-forget in AMQP
});
afterAll(async () => {
  await connection?.close();
  if (cli.child.exitCode === null) await cli.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('GET /metrics', () => {
  it('counts published, delivered, acked and dead-lettered messages per queue', async () => {
    const { status, body } = await http.call<string>('GET', '/metrics', undefined, null);
    expect(status).toBe(200);
    expect(body).toContain('# TYPE conveyor_messages_published_total counter');
    expect(sample(body, 'conveyor_messages_published_total{vhost="/",queue="m"}')).toBe(5);
    expect(sample(body, 'conveyor_messages_delivered_total{vhost="/",queue="m"}')).toBe(4);
    expect(sample(body, 'conveyor_messages_acked_total{vhost="/",queue="m"}')).toBe(3);
    expect(sample(body, 'conveyor_messages_dead_lettered_total{vhost="/",queue="m",reason="rejected"}')).toBe(
      1,
    );
  });

  it('shows queue depth gauges and connections per protocol', async () => {
    const { body } = await http.call<string>('GET', '/metrics', undefined, null);
    expect(sample(body, 'conveyor_queue_messages_ready{vhost="/",queue="m"}')).toBe(1);
    expect(sample(body, 'conveyor_queue_messages_in_flight{vhost="/",queue="m"}')).toBe(0);
    expect(sample(body, 'conveyor_queue_messages_delayed{vhost="/",queue="m"}')).toBe(0);
    expect(sample(body, 'conveyor_queue_messages_ready{vhost="/",queue="m-dlq"}')).toBe(1);
    expect(sample(body, 'conveyor_connections{protocol="amqp"}')).toBe(1);
    expect(sample(body, 'conveyor_connections{protocol="mqtt"}')).toBe(0);
  });

  it('has a publish→ack latency histogram and the process metrics', async () => {
    const { body } = await http.call<string>('GET', '/metrics', undefined, null);
    expect(body).toContain('# TYPE conveyor_publish_to_ack_seconds histogram');
    expect(sample(body, 'conveyor_publish_to_ack_seconds_count{vhost="/",queue="m"}')).toBe(3);
    expect(sample(body, 'conveyor_publish_to_ack_seconds_bucket{le="+Inf",vhost="/",queue="m"}')).toBe(3);
    expect(sample(body, 'conveyor_publish_to_ack_seconds_sum{vhost="/",queue="m"}')).toBeLessThan(30);
    expect(body).toMatch(/^process_cpu_seconds_total \d/m);
    expect(body).toMatch(/^nodejs_heap_size_used_bytes \d/m);
  });

  it('agrees with the API: overview message stats and per-queue rates', async () => {
    const overview = await http.call<{ messageStats: Record<string, number> }>('GET', '/api/overview');
    // A dead-lettered copy is counted as dead-lettered from `m`, not as published into `m-dlq`.
    expect(overview.body.messageStats).toEqual({ published: 5, delivered: 4, acked: 3, deadLettered: 1 });
    await http.call('PUT', '/api/queues/%2F/rated', { durable: false });
    for (let i = 0; i < 10; i++) await http.call('POST', '/api/queues/%2F/rated/send', { payload: `r${i}` });
    // Rates average the last 5 whole seconds; after 1.1 s every send is in a whole second.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const queue = await http.call<{ rates: Record<string, number> }>('GET', '/api/queues/%2F/rated');
    expect(queue.body.rates).toEqual({ published: 2, delivered: 0, acked: 0 });
  });

  it('counts MQTT QoS 0 copies sent straight to a subscriber as published and delivered, and those dropped for a stuck one', async () => {
    const url = `mqtt://127.0.0.1:${cli.ports.get('mqtt')}`;
    const options = { protocolVersion: 4 as const, reconnectPeriod: 0, keepalive: 0 };
    const stuck = await mqtt.connectAsync(url, { ...options, clientId: 'metrics-stuck' });
    await stuck.subscribeAsync('m/q0', { qos: 0 });
    stuck.stream.pause(); // reads nothing from now on
    const pub = await mqtt.connectAsync(url, { ...options, clientId: 'metrics-pub' });
    const N = 20_000;
    const payload = Buffer.alloc(1024, 0x61);
    for (let i = 0; i < N; i++) {
      pub.publish('m/q0', payload, { qos: 0 });
      if (i % 500 === 499) await new Promise((r) => setTimeout(r, 1));
    }
    await pub.publishAsync('m/flushed', 'x', { qos: 1 });
    const { body } = await http.call<string>('GET', '/metrics', undefined, null);
    const dropped = sample(body, 'conveyor_mqtt_qos0_dropped_total');
    // 20 MiB published against a 4 MiB buffer (plus what the kernel holds).
    expect(dropped).toBeGreaterThan(N / 4);
    expect(dropped).toBeLessThan(N);
    expect(
      sample(
        body,
        'conveyor_messages_published_total{vhost="/",queue="mqtt-subscription-metrics-stuckqos0"}',
      ),
    ).toBe(N);
    stuck.end(true);
    await pub.endAsync();
  }, 60_000);
});
