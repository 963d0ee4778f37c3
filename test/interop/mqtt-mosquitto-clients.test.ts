import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { missing, run, startServer } from './mqtt-interop.helpers.js';

const PUB = '/usr/bin/mosquitto_pub';
const SUB = '/usr/bin/mosquitto_sub';
const skip = missing(PUB) ?? missing(SUB);

/** Starts mosquitto_sub (-C n: it exits after n messages); `output` is what it printed. */
function subscribe(args: string[]): { output: Promise<string> } {
  const child = spawn(SUB, args);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': the process may exit before its last line has been read from the pipe.
  const output = new Promise<string>((resolve, reject) => {
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`mosquitto_sub exited ${code}: ${out}`)),
    );
  });
  return { output };
}

/** mosquitto_sub prints nothing when subscribed: wait until the server has bound its queue. */
async function bound(server: Awaited<ReturnType<typeof startServer>>, queue: string): Promise<void> {
  const vhost = server.broker.vhost('/');
  for (let i = 0; i < 200; i++) {
    if (vhost.bindings().some((b) => b.destination.name === queue)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`mosquitto_sub never subscribed (${queue})`);
}

describe.skipIf(skip !== undefined)(`interop: mosquitto_pub / mosquitto_sub ${skip ?? ''}`, () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  for (const version of ['mqttv311', 'mqttv5']) {
    test(`${version}: mosquitto_sub receives what mosquitto_pub sends at QoS 0, 1 and 2`, async () => {
      const port = String(server.port);
      const sub = subscribe([
        '-h',
        '127.0.0.1',
        '-p',
        port,
        '-V',
        version,
        '-i',
        `mosq-sub-${version}`,
        '-t',
        `mosq/${version}/#`,
        '-q',
        '2',
        '-C',
        '3',
        '-v',
        '-W',
        '10',
      ]);
      await bound(server, `mqtt-subscription-mosq-sub-${version}qos1`);
      for (const qos of ['0', '1', '2']) {
        await run(PUB, [
          '-h',
          '127.0.0.1',
          '-p',
          port,
          '-V',
          version,
          '-t',
          `mosq/${version}/q${qos}`,
          '-m',
          `m${qos}`,
          '-q',
          qos,
        ]);
      }
      expect((await sub.output).trim().split('\n')).toEqual([
        `mosq/${version}/q0 m0`,
        `mosq/${version}/q1 m1`,
        `mosq/${version}/q2 m2`,
      ]);
    });
  }

  test('retained: mosquitto_pub -r, then a new mosquitto_sub gets it with -C 1', async () => {
    const port = String(server.port);
    await run(PUB, ['-h', '127.0.0.1', '-p', port, '-t', 'mosq/retained', '-m', 'kept', '-q', '1', '-r']);
    const out = await run(SUB, ['-h', '127.0.0.1', '-p', port, '-t', 'mosq/retained', '-C', '1', '-W', '5']);
    expect(out.trim()).toBe('kept');
  });
});
