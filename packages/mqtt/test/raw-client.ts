import { connect as netConnect, type Socket } from 'node:net';
import { generate, parser as createParser, type Packet } from 'mqtt-packet';

/** A bare MQTT client over a socket: sends exactly the packets a test builds, records what comes back. */
export class RawClient {
  readonly packets: Packet[] = [];
  closed = false;
  readonly #waiters: { match: (p: Packet) => boolean; resolve: (p: Packet) => void }[] = [];
  readonly #closeWaiters: (() => void)[] = [];

  private constructor(
    readonly socket: Socket,
    readonly version: 4 | 5,
  ) {
    const parser = createParser({ protocolVersion: version });
    parser.on('packet', (p: Packet) => {
      this.packets.push(p);
      for (const w of [...this.#waiters])
        if (w.match(p)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(p);
        }
    });
    socket.on('data', (d) => parser.parse(d));
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.#closeWaiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number, version: 4 | 5 = 5): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ port, host: '127.0.0.1' }, () => resolve(new RawClient(socket, version)));
      socket.once('error', reject);
    });
  }

  send(packet: Packet): void {
    this.socket.write(generate(packet, { protocolVersion: this.version }));
  }

  sendBytes(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  next<T extends Packet['cmd']>(cmd: T, timeoutMs = 3000): Promise<Extract<Packet, { cmd: T }>> {
    const seen = this.packets.findIndex((p) => p.cmd === cmd);
    if (seen >= 0) return Promise.resolve(this.packets.splice(seen, 1)[0] as Extract<Packet, { cmd: T }>);
    return new Promise((resolve, reject) => {
      const w = {
        match: (p: Packet) => p.cmd === cmd,
        resolve: (p: Packet) => {
          this.packets.splice(this.packets.indexOf(p), 1);
          resolve(p as Extract<Packet, { cmd: T }>);
        },
      };
      this.#waiters.push(w);
      setTimeout(() => reject(new Error(`no ${cmd} within ${timeoutMs} ms`)), timeoutMs).unref();
    });
  }

  untilClosed(timeoutMs = 3000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#closeWaiters.push(resolve);
      setTimeout(() => reject(new Error('still open')), timeoutMs).unref();
    });
  }

  async connect(
    clientId: string,
    extra: Partial<Extract<Packet, { cmd: 'connect' }>> = {},
  ): Promise<Extract<Packet, { cmd: 'connack' }>> {
    this.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: this.version,
      clientId,
      clean: true,
      keepalive: 30,
      ...extra,
    });
    return this.next('connack');
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Reads PUBLISH packets off a client's socket without mqtt-packet (fast enough for 100,000s):
 * `onPublish` gets each one's QoS, payload (MQTT 3.1.1 framing: no properties) and whole packet.
 */
export function readPublishes(
  client: RawClient,
  onPublish: (qos: number, payload: Buffer, frame: Buffer) => void,
): void {
  let buf = Buffer.alloc(0);
  client.socket.removeAllListeners('data');
  client.socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let at = 0;
    for (;;) {
      let len = 0;
      let mul = 1;
      let i = at + 1;
      for (; i < buf.length; i++) {
        len += (buf[i]! & 0x7f) * mul;
        mul *= 128;
        if ((buf[i]! & 0x80) === 0) break;
      }
      if (i >= buf.length || i + 1 + len > buf.length) break;
      const start = i + 1;
      if (buf[at]! >> 4 === 3) {
        const qos = (buf[at]! >> 1) & 3;
        const topicLength = buf.readUInt16BE(start);
        const payloadAt = start + 2 + topicLength + (qos > 0 ? 2 : 0);
        onPublish(qos, buf.subarray(payloadAt, start + len), Buffer.from(buf.subarray(at, start + len)));
      }
      at = start + len;
    }
    buf = buf.subarray(at);
  });
}
