// The scenarios run against every broker: mqtt.js fan-in / fan-out at QoS 0 and 1, and the raw load.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { rawSubscriber } from './raw.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Waits until `done()`, the deadline, or a while in which `seen()` (deliveries so far) did not move. */
async function settle(seen, done, deadline, qos) {
  let last = performance.now();
  let lastSeen = -1;
  while (!done() && performance.now() < deadline) {
    const now = seen();
    if (now !== lastSeen) {
      lastSeen = now;
      last = performance.now();
    } else if (performance.now() - last > (qos === 0 ? 2000 : 10_000)) break; // nothing more is coming
    await sleep(5);
  }
}

/** A scenario's figures from what was sent and what arrived, with latency percentiles. */
function outcome(sent, expected, delivered, seconds, latencies) {
  latencies.sort((a, b) => a - b);
  return {
    sent,
    expected,
    delivered,
    lost: expected - delivered,
    msgPerSec: delivered / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

function connectClient(url, clientId) {
  return mqtt.connectAsync(url, {
    clientId,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    protocolVersion: 4,
  });
}

/**
 * mqtt.js: `publishers` clients each publish `perPublisher` messages to one topic that
 * `subscribers` clients subscribe to. The payload starts with performance.now() (same process).
 * End-to-end window: a publisher waits while more than `window` of its messages are not yet
 * received by the slowest subscriber, so Mosquitto's max_queued_messages (1000) never drops.
 */
export async function mqttjsScenario(
  url,
  { qos, publishers, subscribers, perPublisher, window, payloadBytes, maxMs },
) {
  const run = randomBytes(4).toString('hex');
  const topic = `bench/${run}/t`;
  const latencies = [];
  const received = new Array(subscribers).fill(0);
  let waiters = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const r of w) r();
  };
  const subs = [];
  for (let s = 0; s < subscribers; s++) {
    const c = await connectClient(url, `bsub-${run}-${s}`);
    c.on('message', (_t, payload) => {
      received[s]++;
      latencies.push(performance.now() - payload.readDoubleLE(0));
      wake();
    });
    await c.subscribeAsync(topic, { qos });
    subs.push(c);
  }
  const pubs = [];
  for (let p = 0; p < publishers; p++) pubs.push(await connectClient(url, `bpub-${run}-${p}`));
  let sentTotal = 0;
  const minReceived = () => Math.min(...received);
  const start = performance.now();
  const deadline = start + maxMs;
  await Promise.all(
    pubs.map(async (client) => {
      for (let i = 0; i < perPublisher && performance.now() < deadline; i++) {
        while (sentTotal - minReceived() >= window && performance.now() < deadline)
          await new Promise((r) => {
            waiters.push(r);
            setTimeout(r, 50);
          });
        const payload = Buffer.alloc(payloadBytes, 0x61);
        payload.writeDoubleLE(performance.now(), 0);
        sentTotal++;
        if (qos === 0) client.publish(topic, payload, { qos: 0 });
        else client.publish(topic, payload, { qos: 1 }, () => undefined);
        if (i % 64 === 63) await new Promise((r) => setImmediate(r)); // let replies in
      }
    }),
  );
  const total = () => received.reduce((a, b) => a + b, 0);
  await settle(total, () => minReceived() >= sentTotal, deadline, qos);
  const elapsed = (performance.now() - start) / 1000;
  const delivered = total();
  await Promise.all([...pubs, ...subs].map((c) => c.endAsync().catch(() => undefined)));
  return outcome(sentTotal, sentTotal * subscribers, delivered, elapsed, latencies);
}

/**
 * mqtt.js at a fixed rate: one publisher sends `rate` messages per second for `seconds` (paced
 * every 5 ms) to one subscriber; publish→deliver latency p50/p99 (same process clock). Below
 * every broker's ceiling, so it measures the time a message spends in the broker, not the queueing.
 */
export async function rateScenario(url, { qos, rate, seconds, payloadBytes }) {
  const run = randomBytes(4).toString('hex');
  const topic = `brate/${run}/t`;
  const latencies = [];
  let received = 0;
  const sub = await connectClient(url, `brsub-${run}`);
  sub.on('message', (_t, payload) => {
    received++;
    latencies.push(performance.now() - payload.readDoubleLE(0));
  });
  await sub.subscribeAsync(topic, { qos });
  const pub = await connectClient(url, `brpub-${run}`);
  const total = rate * seconds;
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    for (; sent < due; sent++) {
      const payload = Buffer.alloc(payloadBytes, 0x61);
      payload.writeDoubleLE(performance.now(), 0);
      pub.publish(topic, payload, { qos }, () => undefined);
    }
    await sleep(5);
  }
  const until = performance.now() + 10_000;
  while (received < total && performance.now() < until) await sleep(5);
  const elapsed = (performance.now() - start) / 1000;
  await Promise.all([pub, sub].map((c) => c.endAsync().catch(() => undefined)));
  return outcome(sent, total, received, elapsed, latencies);
}

/**
 * As mqttjsScenario, with each publisher in a child process of its own (the subscribers stay in
 * this one): what a broker does when its clients are not all in one saturated process. The same
 * end-to-end window, split among the publishers.
 */
export async function mqttjsProcessesScenario(
  url,
  { qos, publishers, subscribers, perPublisher, window, payloadBytes, maxMs },
) {
  const run = randomBytes(4).toString('hex');
  const topic = `bench/${run}/t`;
  const latencies = [];
  // received[s][p]: messages of publisher p that subscriber s got.
  const received = Array.from({ length: subscribers }, () => new Array(publishers).fill(0));
  const children = [];
  const tell = (p) => {
    let min = Infinity;
    for (const r of received) min = Math.min(min, r[p]);
    children[p]?.send({ delivered: min });
  };
  const subs = [];
  for (let s = 0; s < subscribers; s++) {
    const c = await connectClient(url, `bsub-${run}-${s}`);
    c.on('message', (_t, payload) => {
      const p = payload[8];
      received[s][p]++;
      latencies.push(performance.timeOrigin + performance.now() - payload.readDoubleLE(0));
      if (received[s][p] % 16 === 0) tell(p);
    });
    await c.subscribeAsync(topic, { qos });
    subs.push(c);
  }
  const done = [];
  for (let p = 0; p < publishers; p++) {
    const child = fork(new URL('./mqttjs-publisher.js', import.meta.url), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.send({
      url,
      clientId: `bpub-${run}-${p}`,
      topic,
      qos,
      count: perPublisher,
      window: Math.max(16, Math.floor(window / publishers)),
      payloadBytes,
      maxMs,
      index: p,
    });
    await new Promise((resolve) => child.once('message', resolve));
    children.push(child);
    done.push(new Promise((resolve) => child.on('message', (m) => m.sent !== undefined && resolve(m.sent))));
  }
  const start = performance.now();
  for (const child of children) child.send('go');
  const sentPer = await Promise.all(done);
  const sentTotal = sentPer.reduce((a, b) => a + b, 0);
  const total = () => received.reduce((a, r) => a + r.reduce((x, y) => x + y, 0), 0);
  await settle(total, () => total() >= sentTotal * subscribers, start + maxMs, qos);
  const elapsed = (performance.now() - start) / 1000;
  const delivered = total();
  await Promise.all(subs.map((c) => c.endAsync().catch(() => undefined)));
  return outcome(sentTotal, sentTotal * subscribers, delivered, elapsed, latencies);
}

function startPublisher(job) {
  const child = fork(new URL('./raw-publisher.js', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.send(job);
  const next = () => new Promise((resolve) => child.once('message', resolve));
  return { child, next };
}

/**
 * Raw: `publishers` child processes each write `perPublisher` pre-encoded QoS 0 PUBLISH packets in
 * batches of `batch`; `subscribers` raw sockets count PUBLISH packets. Throughput = deliveries
 * counted / time from 'go' to the last one counted.
 */
export async function rawScenario(
  url,
  { publishers, subscribers, perPublisher, batch, payloadBytes, maxMs, topics: topicCount = 1 },
) {
  const { hostname, port } = new URL(url);
  const run = randomBytes(4).toString('hex');
  if (subscribers % topicCount !== 0)
    throw new Error('raw scenario: subscribers must divide among the topics');
  // Topics of one length (the publisher cuts its batch by packet count): braw/<run>/t000 …
  const topics = Array.from({ length: topicCount }, (_, i) => `braw/${run}/t${String(i).padStart(3, '0')}`);
  const topic = topics[0];
  const subs = [];
  for (let s = 0; s < subscribers; s++)
    subs.push(await rawSubscriber(Number(port), `rsub-${run}-${s}`, topics[s % topicCount], hostname));
  const pubs = [];
  for (let p = 0; p < publishers; p++) {
    const pub = startPublisher({
      port: Number(port),
      host: hostname,
      topic,
      topics,
      count: perPublisher,
      batch,
      payloadBytes,
      clientId: `rpub-${run}-${p}`,
      maxMs,
    });
    await pub.next(); // ready
    pubs.push(pub);
  }
  const start = performance.now();
  const sentReplies = pubs.map((p) => p.next());
  for (const p of pubs) p.child.send('go');
  const deadline = start + maxMs + 2000;
  // Each packet reaches the subscribers of its topic.
  const perPacket = subscribers / topicCount;
  const expected = publishers * perPublisher * perPacket;
  const total = () => subs.reduce((a, s) => a + s.received, 0);
  let lastCount = -1;
  let lastChange = performance.now();
  while (total() < expected && performance.now() < deadline) {
    const n = total();
    if (n !== lastCount) {
      lastCount = n;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > 2000) break;
    await sleep(5);
  }
  const sent = (await Promise.all(sentReplies)).reduce((a, m) => a + m.sent, 0);
  const lastAt = Math.max(...subs.map((s) => s.lastAt));
  const delivered = total();
  for (const p of pubs) p.child.send('stop');
  await Promise.all(
    pubs.map((p) => new Promise((r) => (p.child.exitCode !== null ? r() : p.child.once('exit', r)))),
  );
  for (const s of subs) s.close();
  return {
    sent,
    expected: sent * perPacket,
    delivered,
    lost: sent * perPacket - delivered,
    msgPerSec: delivered / ((lastAt - start) / 1000),
  };
}
