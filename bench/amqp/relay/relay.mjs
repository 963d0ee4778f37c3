// A do-nothing AMQP relay: the ceiling for a Node process that parses frames with our codec, routes a
// publish by routing key to the consumer socket and re-encodes it as basic.deliver. No queue, no acks,
// no engine. It answers just enough of the handshake for the raw load generator and raw consumer.
//   node relay.mjs   (sends { type: 'listening', port } over IPC)
import { createServer } from 'node:net';
import {
  CommandAssembler,
  createMethod,
  encodeDeliver,
  encodeMethodFrame,
  FrameParser,
} from '../../../packages/amqp/dist/index.js';

const FRAME_MAX = 131072;
/** routing key (queue name) → consumer connection */
const consumers = new Map();

/** One write per event-loop turn, as the real server does. */
function writer(socket) {
  let corked = false;
  return (bytes) => {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(() => {
        corked = false;
        socket.uncork();
      });
    }
    return socket.write(bytes);
  };
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  const write = writer(socket);
  const parser = new FrameParser({ frameMax: FRAME_MAX });
  const assembler = new CommandAssembler();
  const conn = { socket, write, tag: 0, publishers: new Set() };
  const reply = (channel, name, args = {}) => write(encodeMethodFrame(channel, createMethod(name, args)));
  socket.on('data', (chunk) => {
    for (const ev of parser.push(chunk)) {
      if (ev.type === 'protocol-header') {
        reply(0, 'connection.start', {
          versionMajor: 0,
          versionMinor: 9,
          serverProperties: { product: 'relay' },
          mechanisms: Buffer.from('PLAIN'),
          locales: Buffer.from('en_US'),
        });
        continue;
      }
      if (ev.type === 'error' || ev.type === 'bad-protocol-header') {
        socket.destroy();
        return;
      }
      const cmd = assembler.push(ev);
      if (!cmd || cmd.type === 'heartbeat') continue;
      if (cmd.type === 'content') {
        const target = consumers.get(cmd.method.args.routingKey);
        if (!target) continue;
        const ok = target.write(
          encodeDeliver(
            1,
            {
              consumerTag: 'c',
              deliveryTag: ++target.tag,
              redelivered: false,
              exchange: cmd.method.args.exchange,
              routingKey: cmd.method.args.routingKey,
            },
            cmd.propertyBytes,
            cmd.body,
            FRAME_MAX,
          ),
        );
        // Backpressure: a full consumer socket stops this publisher until it drains.
        if (!ok && !socket.isPaused()) {
          socket.pause();
          target.socket.once('drain', () => socket.resume());
        }
        continue;
      }
      const { channel, method } = cmd;
      switch (method.name) {
        case 'connection.start-ok':
          reply(0, 'connection.tune', { channelMax: 2047, frameMax: FRAME_MAX, heartbeat: 0 });
          break;
        case 'connection.tune-ok':
          parser.setFrameMax(FRAME_MAX);
          break;
        case 'connection.open':
          reply(0, 'connection.open-ok', { knownHosts: '' });
          break;
        case 'channel.open':
          reply(channel, 'channel.open-ok', { channelId: Buffer.alloc(0) });
          break;
        case 'queue.declare':
          reply(channel, 'queue.declare-ok', { queue: method.args.queue, messageCount: 0, consumerCount: 0 });
          break;
        case 'basic.qos':
          reply(channel, 'basic.qos-ok');
          break;
        case 'basic.consume':
          consumers.set(method.args.queue, conn);
          socket.once('close', () => consumers.delete(method.args.queue));
          reply(channel, 'basic.consume-ok', { consumerTag: method.args.consumerTag || 'c' });
          break;
        case 'connection.close':
          reply(0, 'connection.close-ok');
          socket.end();
          break;
        default:
          break;
      }
    }
  });
});

server.listen(0, '127.0.0.1', () => process.send?.({ type: 'listening', port: server.address().port }));
process.on('message', (m) => {
  if (m === 'cpu') process.send({ type: 'cpu', usage: process.cpuUsage() });
  else if (m === 'stop') {
    server.close();
    for (const c of consumers.values()) c.socket.destroy();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
