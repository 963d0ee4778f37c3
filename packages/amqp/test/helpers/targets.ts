/** Where a feature suite runs: a fresh Conveyor AmqpServer on an ephemeral port, or the real RabbitMQ. */
import { connect as netConnect } from 'node:net';
import { Broker, type BrokerOptions } from '@conveyor/core';
import { AmqpServer, type AmqpServerOptions } from '../../src/index.js';

export const RABBITMQ_URL = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface ConveyorTarget {
  broker: Broker;
  server: AmqpServer;
  port: number;
  url: string;
  /** Background and internal errors the server reported; `close()` fails when there are any. */
  errors: unknown[];
  close(): Promise<void>;
}

export async function startConveyor(
  options: AmqpServerOptions = {},
  brokerOptions: BrokerOptions = {},
): Promise<ConveyorTarget> {
  const broker = await Broker.open(brokerOptions);
  const errors: unknown[] = [];
  const server = new AmqpServer(broker, { onError: (err) => errors.push(err), ...options });
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    broker,
    server,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    errors,
    close: async () => {
      await server.close();
      await broker.close();
      if (errors.length > 0)
        throw new Error(`the server reported ${errors.length} error(s): ${errors.map(String).join('; ')}`);
    },
  };
}

/** True when something accepts TCP connections at the URL's host and port within a second. */
export function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = netConnect({ host: hostname, port: Number(port || 5672) });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
