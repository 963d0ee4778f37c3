import amqp from 'amqplib';

/** Publishes with a plain amqplib client, as a non-Nest producer would (no envelope, no headers). */
export async function publishRaw(
  url: string,
  queue: string,
  body: Buffer,
  contentType?: string,
): Promise<void> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createConfirmChannel();
    ch.sendToQueue(queue, body, contentType === undefined ? {} : { contentType });
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
}

/** True when an AMQP server answers at `url`. */
export async function reachable(url: string): Promise<boolean> {
  try {
    const conn = await amqp.connect(url);
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

const HANDLER_QUEUES = [
  'work',
  'poison',
  'flaky',
  'fatal',
  'orders',
  'guarded',
  'manual',
  'slow',
  'raw',
  'price',
  'lazy',
  'failing',
  'validated',
  'stamped',
  'teapot',
  'inbox',
];
const GROUPS = ['app', 'billing', 'shipping'];

/** Deletes the durable queues the suites declare under `prefixes` (a shared RabbitMQ keeps them otherwise). */
export async function deleteTestQueues(url: string, prefixes: Iterable<string>): Promise<void> {
  const names: string[] = [];
  for (const p of prefixes) {
    for (const q of HANDLER_QUEUES) names.push(`${p}.${q}`);
    for (const g of GROUPS) names.push(`${g}.${p}.order.created`, `${g}.${p}.order.*`);
  }
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    for (const name of names) for (const q of [name, `${name}.dlq`, `${name}.retry`]) await ch.deleteQueue(q);
  } finally {
    await conn.close();
  }
}
