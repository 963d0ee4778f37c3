/** A byte-level AMQP client for tests that must send what no library would: handshake, then anything. */
import { connect as netConnect, type Socket } from 'node:net';
import {
  createMethod,
  encodeMethodFrame,
  FrameParser,
  PROTOCOL_HEADER,
  type AmqpFrame,
  type AmqpMethod,
} from '../../src/index.js';

export interface RawClient {
  socket: Socket;
  frames: AmqpFrame[];
  /** Resolves when the server closes the socket. */
  closed: Promise<void>;
  isClosed(): boolean;
  send(bytes: Buffer): void;
  sendMethod(channel: number, method: AmqpMethod): void;
  /** The next frame matching `match` (already received or arriving within `timeoutMs`). */
  next(match: (f: AmqpFrame) => boolean, timeoutMs?: number): Promise<AmqpFrame>;
  destroy(): void;
}

export function rawConnect(port: number, host = '127.0.0.1'): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host });
    const parser = new FrameParser({ expectProtocolHeader: false, frameMax: 0 });
    const frames: AmqpFrame[] = [];
    const waiters = new Set<() => void>();
    let closed = false;
    const closedPromise = new Promise<void>((r) =>
      socket.once('close', () => ((closed = true), r(), waiters.forEach((w) => w()))),
    );
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const ev of parser.push(chunk)) if ('channel' in ev) frames.push(ev);
      waiters.forEach((w) => w());
    });
    socket.once('connect', () =>
      resolve({
        socket,
        frames,
        closed: closedPromise,
        isClosed: () => closed,
        send: (bytes) => {
          if (!socket.destroyed) socket.write(bytes);
        },
        sendMethod: (channel, method) => {
          if (!socket.destroyed) socket.write(encodeMethodFrame(channel, method));
        },
        next: (match, timeoutMs = 2000) =>
          new Promise((res, rej) => {
            const check = (): boolean => {
              const i = frames.findIndex(match);
              if (i < 0) return false;
              const [f] = frames.splice(0, i + 1).slice(-1);
              res(f!);
              return true;
            };
            if (check()) return;
            const timer = setTimeout(
              () => (waiters.delete(waiter), rej(new Error('no matching frame in time'))),
              timeoutMs,
            );
            const waiter = (): void => {
              if (check()) {
                clearTimeout(timer);
                waiters.delete(waiter);
              } else if (closed) {
                clearTimeout(timer);
                waiters.delete(waiter);
                rej(new Error('socket closed before a matching frame'));
              }
            };
            waiters.add(waiter);
          }),
        destroy: () => socket.destroy(),
      }),
    );
    socket.once('error', reject);
  });
}

export const isMethod =
  (name: AmqpMethod['name']) =>
  (f: AmqpFrame): boolean =>
    f.type === 'method' && f.method.name === name;

export interface HandshakeOptions {
  username?: string;
  password?: string;
  vhost?: string;
  heartbeat?: number;
  frameMax?: number;
  mechanism?: 'PLAIN' | 'AMQPLAIN';
  response?: Buffer;
  /** Stop after tune-ok (do not send connection.open). */
  skipOpen?: boolean;
  /** Client properties sent in start-ok, beyond the capabilities (`product`, …). */
  clientProperties?: Record<string, string>;
}

/** Protocol header, start-ok, tune-ok, open; returns the client and the last frame the server sent. */
export async function rawHandshake(
  port: number,
  options: HandshakeOptions = {},
): Promise<{ client: RawClient; last: AmqpFrame }> {
  const client = await rawConnect(port);
  client.send(PROTOCOL_HEADER);
  await client.next(isMethod('connection.start'));
  const response =
    options.response ??
    Buffer.from(`\u0000${options.username ?? 'guest'}\u0000${options.password ?? 'guest'}`);
  client.sendMethod(
    0,
    createMethod('connection.start-ok', {
      clientProperties: {
        ...options.clientProperties,
        capabilities: { consumer_cancel_notify: true, 'connection.blocked': true },
      },
      mechanism: options.mechanism ?? 'PLAIN',
      response,
      locale: 'en_US',
    }),
  );
  const tune = await client.next(
    (f) =>
      f.type === 'method' && (f.method.name === 'connection.tune' || f.method.name === 'connection.close'),
  );
  if (tune.type === 'method' && tune.method.name === 'connection.close') return { client, last: tune };
  // Echo the server's channel_max: RabbitMQ stalls on 0 ("no limit") when its own limit is lower.
  const channelMax =
    tune.type === 'method' && tune.method.name === 'connection.tune' ? tune.method.args.channelMax : 2047;
  client.sendMethod(
    0,
    createMethod('connection.tune-ok', {
      channelMax,
      frameMax: options.frameMax ?? 131072,
      heartbeat: options.heartbeat ?? 0,
    }),
  );
  if (options.skipOpen) return { client, last: tune };
  client.sendMethod(0, createMethod('connection.open', { virtualHost: options.vhost ?? '/' }));
  const last = await client.next(
    (f) =>
      f.type === 'method' && (f.method.name === 'connection.open-ok' || f.method.name === 'connection.close'),
  );
  return { client, last };
}

/** Handshake plus channel.open on channel 1. */
export async function rawChannel(port: number, options: HandshakeOptions = {}): Promise<RawClient> {
  const { client, last } = await rawHandshake(port, options);
  if (last.type !== 'method' || last.method.name !== 'connection.open-ok')
    throw new Error('handshake refused');
  client.sendMethod(1, createMethod('channel.open', {}));
  await client.next(isMethod('channel.open-ok'));
  return client;
}

/** The reply code of a close frame. */
export function closeCode(f: AmqpFrame): number | undefined {
  if (f.type !== 'method') return undefined;
  if (f.method.name === 'connection.close' || f.method.name === 'channel.close')
    return f.method.args.replyCode;
  return undefined;
}
