import { connect, type ChannelModel } from 'amqplib';
import { BridgeError, describeError, redactUrl } from './errors.js';

/** Connects, or rejects with a one-line BridgeError naming the host and the reason. */
export async function connectAmqp(url: string, what: string): Promise<ChannelModel> {
  try {
    return await connect(url, { timeout: 5_000, clientProperties: { connection_name: what } });
  } catch (err) {
    throw new BridgeError(
      'UNREACHABLE',
      `${what}: cannot connect to ${redactUrl(url)}: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
}

/** A 404 from the server (no such queue or exchange) as MISSING_QUEUE; anything else as is. */
export function amqpTargetError(err: unknown, what: string, target: string): Error {
  const text = describeError(err);
  if (/404|NOT_FOUND/.test(text)) {
    return new BridgeError('MISSING_QUEUE', `${what}: ${target} does not exist on the server (${text})`, {
      cause: err,
    });
  }
  return err instanceof Error ? err : new Error(text);
}

/** Drops the socket without a close handshake: unacked deliveries return to their queues. */
export function destroyAmqp(model: ChannelModel): void {
  const connection = model.connection as unknown as { stream?: { destroy(): void } };
  connection.stream?.destroy();
}
