// The engine benchmarks' load, shared by engine.bench.js and store-redis.bench.js: batches of
// sends, then as many deliveries (pulled or pushed), then one ack call.

export const BATCH = 100;
export const BODY = Buffer.alloc(256, 0x61);

export function sendBatch(vhost) {
  const sends = new Array(BATCH);
  for (let i = 0; i < BATCH; i++)
    sends[i] = vhost.send('bench', { body: BODY, properties: { persistent: true } });
  return Promise.all(sends);
}

export async function pullBatch(vhost) {
  await sendBatch(vhost);
  let deliveries = await vhost.receive('bench', { max: BATCH });
  // With several loops (or nodes) on one queue another may have taken some of ours: wait for as many others.
  while (deliveries.length < BATCH)
    deliveries = deliveries.concat(
      await vhost.receive('bench', { max: BATCH - deliveries.length, waitMs: 5000 }),
    );
  await vhost.ack(deliveries);
}

export function pushBatcher(vhost) {
  let pending = [];
  let wake;
  vhost.consume('bench', (delivery) => {
    pending.push(delivery);
    if (pending.length === BATCH) wake();
  });
  return async () => {
    const arrived = new Promise((resolve) => (wake = resolve));
    await sendBatch(vhost);
    await arrived;
    const deliveries = pending;
    pending = [];
    await vhost.ack(deliveries);
  };
}

export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
