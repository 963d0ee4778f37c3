// Shared helpers for the AMQP benchmark processes: timing, stats, a byte-level client handshake, IPC.
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  createMethod,
  encodeMethodFrame,
  FrameParser,
  PROTOCOL_HEADER,
} from '../../packages/amqp/dist/index.js';

/** Milliseconds since the epoch with sub-millisecond precision, comparable across processes. */
export const now = () => performance.timeOrigin + performance.now();

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Only loopback: the benchmark never talks to another host. */
export function assertLoopback(url) {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host))
    throw new Error(`refusing non-loopback target ${host}`);
  return url;
}

/** Reports a result to the orchestrator (IPC) and exits. */
export function report(result) {
  if (process.send) process.send({ type: 'result', ...result }, () => process.exit(0));
  else {
    console.log(JSON.stringify(result));
    process.exit(0);
  }
}

export function ready(extra = {}) {
  process.send?.({ type: 'ready', ...extra });
}

/** Aborts a client process that overruns its time budget. */
export function deadline(seconds, what) {
  setTimeout(() => {
    console.error(`[bench] ${what}: time budget of ${seconds}s exceeded`);
    process.send?.({ type: 'result', error: 'timeout' }, () => process.exit(2));
    if (!process.send) process.exit(2);
  }, seconds * 1000).unref();
}

/**
 * A hand-made client handshake over a raw socket: header, start-ok, tune-ok, open, channel.open (1),
 * then `setup` methods each awaited by name. Returns the socket with its data listener removed.
 */
export async function rawOpen(url, setup = []) {
  const u = new URL(assertLoopback(url));
  const socket = connect({ host: u.hostname, port: Number(u.port || 5672) });
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const parser = new FrameParser({ expectProtocolHeader: false, frameMax: 0 });
  const frames = [];
  let wake = () => {};
  const onData = (chunk) => {
    for (const ev of parser.push(chunk)) if ('channel' in ev) frames.push(ev);
    wake();
  };
  socket.on('data', onData);
  const expect = async (name) => {
    for (;;) {
      const i = frames.findIndex((f) => f.type === 'method');
      if (i >= 0) {
        const [f] = frames.splice(i, 1);
        if (f.method.name !== name)
          throw new Error(`expected ${name}, got ${f.method.name} ${JSON.stringify(f.method.args)}`);
        return f.method;
      }
      await new Promise((r) => (wake = r));
    }
  };
  const user = decodeURIComponent(u.username || 'guest');
  const pass = decodeURIComponent(u.password || 'guest');
  socket.write(PROTOCOL_HEADER);
  await expect('connection.start');
  socket.write(
    encodeMethodFrame(
      0,
      createMethod('connection.start-ok', {
        clientProperties: { product: 'conveyor-bench' },
        mechanism: 'PLAIN',
        response: Buffer.from(`\u0000${user}\u0000${pass}`),
        locale: 'en_US',
      }),
    ),
  );
  const tune = await expect('connection.tune');
  socket.write(
    encodeMethodFrame(
      0,
      createMethod('connection.tune-ok', {
        channelMax: tune.args.channelMax,
        frameMax: 131072,
        heartbeat: 0,
      }),
    ),
  );
  socket.write(encodeMethodFrame(0, createMethod('connection.open', { virtualHost: '/' })));
  await expect('connection.open-ok');
  socket.write(encodeMethodFrame(1, createMethod('channel.open', {})));
  await expect('channel.open-ok');
  for (const [method, answer] of setup) {
    socket.write(encodeMethodFrame(1, method));
    if (answer) await expect(answer);
  }
  socket.off('data', onData);
  return socket;
}

/** Closes a raw connection politely (connection.close), then destroys it shortly after. */
export function rawClose(socket) {
  socket.write(
    encodeMethodFrame(
      0,
      createMethod('connection.close', { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }),
    ),
  );
  setTimeout(() => socket.destroy(), 200).unref();
}
