// The raw load: pre-encoded packets written in large batches, and a subscriber that only counts
import { performance } from 'node:perf_hooks';
// PUBLISH packets in the byte stream (no decoding of topic or payload).
import { connect as netConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';

export function encode(packet) {
  return mqttPacket.generate(packet, { protocolVersion: 4 });
}

export function connectPacket(clientId) {
  return encode({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId,
    clean: true,
    keepalive: 120,
  });
}

/** Counts MQTT packets by type from a byte stream, across chunk boundaries. */
export class PacketCounter {
  counts = new Array(16).fill(0);
  #state = 0; // 0: fixed header byte, 1: remaining length, 2: skipping the rest
  #type = 0;
  #len = 0;
  #mul = 1;
  #skip = 0;
  onPacket = undefined;

  push(chunk) {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#state === 2) {
        const step = Math.min(this.#skip, n - i);
        this.#skip -= step;
        i += step;
        if (this.#skip === 0) this.#state = 0;
        continue;
      }
      const b = chunk[i++];
      if (this.#state === 0) {
        this.#type = b >> 4;
        this.#len = 0;
        this.#mul = 1;
        this.#state = 1;
      } else {
        this.#len += (b & 0x7f) * this.#mul;
        this.#mul *= 128;
        if ((b & 0x80) === 0) {
          this.counts[this.#type]++;
          this.onPacket?.(this.#type);
          this.#skip = this.#len;
          this.#state = this.#skip === 0 ? 0 : 2;
        }
      }
    }
  }
}

/** Opens a TCP connection and sends CONNECT; resolves once CONNACK came back. */
export function rawConnect(port, clientId, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host });
    socket.setNoDelay(true);
    const counter = new PacketCounter();
    const timer = setTimeout(() => reject(new Error(`no CONNACK from ${host}:${port} in 5 s`)), 5000);
    socket.on('error', reject);
    socket.on('data', (chunk) => counter.push(chunk));
    counter.onPacket = (type) => {
      if (type !== 2) return;
      clearTimeout(timer);
      counter.onPacket = undefined;
      resolve({ socket, counter });
    };
    socket.write(connectPacket(clientId));
  });
}

/** A subscriber that only counts PUBLISH packets (type 3). Resolves once its SUBACK came back. */
export async function rawSubscriber(port, clientId, topic, host) {
  const { socket, counter } = await rawConnect(port, clientId, host);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no SUBACK in 5 s')), 5000);
    counter.onPacket = (type) => {
      if (type !== 9) return;
      clearTimeout(timer);
      counter.onPacket = undefined;
      resolve();
    };
    socket.write(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }));
  });
  let last = 0;
  counter.onPacket = (type) => {
    if (type === 3) last = performance.now();
  };
  return {
    get received() {
      return counter.counts[3];
    },
    get lastAt() {
      return last;
    },
    close() {
      socket.end(encode({ cmd: 'disconnect' }));
      setTimeout(() => socket.destroy(), 500).unref();
    },
  };
}
