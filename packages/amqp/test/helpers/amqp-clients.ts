/** amqplib helpers shared by the feature suites: tracked connections, error codes, waiting for messages. */
import { randomBytes } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';

const opened: ChannelModel[] = [];

/** A connection closed by `closeClients`; its error events are observed so none goes unhandled. */
export async function connect(
  url: string,
  options: Parameters<typeof amqp.connect>[1] = {},
): Promise<ChannelModel> {
  const conn = await amqp.connect(url, options);
  conn.on('error', () => undefined);
  opened.push(conn);
  return conn;
}

export async function channel(conn: ChannelModel): Promise<Channel> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  return ch;
}

export async function confirmChannel(conn: ChannelModel): Promise<ConfirmChannel> {
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => undefined);
  return ch;
}

export async function closeClients(): Promise<void> {
  for (const conn of opened.splice(0)) await conn.close().catch(() => undefined);
}

/** The AMQP reply code amqplib attached to a channel or connection error. */
export function replyCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err
    ? (err as { code: number }).code
    : undefined;
}

export async function expectCode(promise: Promise<unknown>, code: number): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new Error(`expected an error with reply code ${code}, got success`);
  if (replyCode(caught) !== code)
    throw new Error(`expected reply code ${code}, got ${String(replyCode(caught))}: ${String(caught)}`);
}

/** Resolves with the channel's close error (its reply code), for errors raised by async methods like publish. */
export function channelClosed(ch: Channel): Promise<number | undefined> {
  return new Promise((resolve) => {
    let code: number | undefined;
    ch.on('error', (err) => (code = replyCode(err)));
    ch.on('close', () => resolve(code));
  });
}

export const unique = (prefix: string): string => `cv-test-${prefix}-${randomBytes(5).toString('hex')}`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The next `n` messages a fresh consumer gets from `queue` (acked unless noAck). */
export async function take(
  ch: Channel,
  queue: string,
  n: number,
  options: { ack?: boolean; timeoutMs?: number } = {},
): Promise<ConsumeMessage[]> {
  const got: ConsumeMessage[] = [];
  let tag = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${n} message(s) on ${queue}, got ${got.length}`)),
      options.timeoutMs ?? 3000,
    );
    void ch
      .consume(queue, (msg) => {
        if (!msg) return;
        got.push(msg);
        if (options.ack !== false) ch.ack(msg);
        if (got.length === n) {
          clearTimeout(timer);
          resolve();
        }
      })
      .then((ok) => (tag = ok.consumerTag), reject);
  });
  await ch.cancel(tag);
  return got;
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}
