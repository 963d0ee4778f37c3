// Child process: the do-nothing relay, the ceiling one Node process sets for this load. It cuts
// whole packets from the stream, answers CONNECT and SUBSCRIBE, looks a PUBLISH's topic up in a
// map (exact topics only) and forwards the received bytes, one write per socket and turn. No
// sessions, QoS, retain, wildcards or permissions: what a broker adds is measured against this.
import { createServer } from 'node:net';

const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const subscribers = new Map(); // topic → Set<Client>

class Client {
  pending = [];
  scheduled = false;
  constructor(socket) {
    this.socket = socket;
    socket.setNoDelay(true);
  }
  write(bytes) {
    this.pending.push(bytes);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const out = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
      this.pending = [];
      if (!this.socket.destroyed) this.socket.write(out);
    });
  }
}

function onPacket(client, packet, headerBytes) {
  const type = packet[0] >> 4;
  if (type === 1) return client.write(CONNACK);
  if (type === 8) {
    // SUBSCRIBE: packet id, then (topic length, topic, options)+
    const id = packet.readUInt16BE(headerBytes);
    let at = headerBytes + 2;
    const granted = [];
    while (at < packet.length) {
      const len = packet.readUInt16BE(at);
      const topic = packet.toString('utf8', at + 2, at + 2 + len);
      at += 2 + len + 1;
      let set = subscribers.get(topic);
      if (!set) subscribers.set(topic, (set = new Set()));
      set.add(client);
      granted.push(0);
    }
    return client.write(Buffer.from([0x90, 2 + granted.length, id >> 8, id & 0xff, ...granted]));
  }
  if (type === 3) {
    const len = packet.readUInt16BE(headerBytes);
    const topic = packet.toString('latin1', headerBytes + 2, headerBytes + 2 + len);
    const set = subscribers.get(topic);
    if (set) for (const s of set) s.write(packet);
    return;
  }
  if (type === 12) return client.write(Buffer.from([0xd0, 0x00])); // PINGREQ → PINGRESP
  if (type === 14) client.socket.end();
}

const server = createServer((socket) => {
  const client = new Client(socket);
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    let buf = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    let at = 0;
    for (;;) {
      let len = 0;
      let mul = 1;
      let i = at + 1;
      for (; i < buf.length; i++) {
        len += (buf[i] & 0x7f) * mul;
        mul *= 128;
        if ((buf[i] & 0x80) === 0) break;
      }
      if (i >= buf.length || i + 1 + len > buf.length) break;
      onPacket(client, buf.subarray(at, i + 1 + len), i + 1 - at);
      at = i + 1 + len;
    }
    buffered = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    for (const set of subscribers.values()) set.delete(client);
  });
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m === 'memory') {
    globalThis.gc?.();
    process.send({ memory: process.memoryUsage() });
    return;
  }
  if (m === 'stop') server.close(() => process.exit(0));
});
