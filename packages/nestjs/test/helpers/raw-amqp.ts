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
