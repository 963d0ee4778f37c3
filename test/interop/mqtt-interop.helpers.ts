import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Broker } from '@conveyor/core';
import { MqttServer } from '@conveyor/mqtt';

export async function startServer() {
  const broker = await Broker.open();
  const server = new MqttServer(broker);
  const { port } = await server.listen(0);
  return {
    broker,
    server,
    port,
    close: async () => {
      await server.close();
      await broker.close();
    },
  };
}

/** Interop tools are required in CI; elsewhere a missing one skips with its name. */
export function missing(path: string): string | undefined {
  if (existsSync(path)) return undefined;
  if (process.env.CI === 'true') throw new Error(`${path} is required for the MQTT interop tests in CI`);
  return `${path} not installed`;
}

export function run(file: string, args: string[], timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (err, stdout, stderr) =>
      err ? reject(new Error(`${file} failed: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}
