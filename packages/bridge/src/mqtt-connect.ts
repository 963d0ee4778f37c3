import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { BridgeError, describeError, redactUrl } from './errors.js';

/**
 * Connects without mqtt.js's own reconnect (the bridge reconnects both sides together).
 * `prepare` runs before any packet is read: a stored session's messages can arrive in the same
 * read as the CONNACK, and must not reach mqtt.js's default handler (which acks at once).
 */
export function connectMqtt(
  url: string,
  options: IClientOptions,
  what: string,
  prepare?: (client: MqttClient) => void,
): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = connect(url, { connectTimeout: 5_000, ...options, reconnectPeriod: 0 });
    prepare?.(client);
    const fail = (err: unknown): void => {
      cleanup();
      client.end(true);
      reject(
        new BridgeError(
          'UNREACHABLE',
          `${what}: cannot connect to ${redactUrl(url)}: ${describeError(err)}`,
          {
            cause: err,
          },
        ),
      );
    };
    const closed = (): void => fail(new Error('connection closed before CONNACK'));
    const connected = (): void => {
      cleanup();
      resolve(client);
    };
    const cleanup = (): void => {
      client.off('error', fail);
      client.off('close', closed);
      client.off('connect', connected);
    };
    client.on('error', fail);
    client.on('close', closed);
    client.on('connect', connected);
  });
}
