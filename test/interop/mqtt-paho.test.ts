import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { missing, run, startServer } from './mqtt-interop.helpers.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./mqtt-paho-client.py', import.meta.url));

function pahoMissing(): string | undefined {
  const python = missing(PYTHON);
  if (python) return python;
  try {
    execFileSync(PYTHON, ['-c', 'import paho.mqtt.client']);
    return undefined;
  } catch {
    if (process.env.CI === 'true')
      throw new Error('python3-paho-mqtt is required for the MQTT interop tests in CI');
    return 'python3-paho-mqtt not installed (apt-get install -y python3-paho-mqtt)';
  }
}

const skip = pahoMissing();

describe.skipIf(skip !== undefined)(`interop: paho-mqtt (python) ${skip ?? ''}`, () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  for (const version of ['311', '5']) {
    test(`paho MQTT ${version === '5' ? '5.0' : '3.1.1'}: subscribe, publish QoS 0/1/2 and receive them`, async () => {
      const out = JSON.parse(await run(PYTHON, [SCRIPT, String(server.port), version, `paho${version}`])) as {
        ok: boolean;
        received: { topic: string; payload: string; qos: number; user: Record<string, string> }[];
      };
      expect(out.ok).toBe(true);
      expect(out.received.map((m) => [m.topic, m.payload, m.qos])).toEqual([
        [`paho${version}/q0`, 'hello 0', 0],
        [`paho${version}/q1`, 'hello 1', 1],
        [`paho${version}/q2`, 'hello 2', 2],
      ]);
      if (version === '5') expect(out.received[2]!.user).toEqual({ from: 'paho' });
    });
  }
});
