import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { BridgeError, describeError, redactUrl } from './errors.js';

/** Connects without mqtt.js's own reconnect (the bridge reconnects both sides together). */
export async function connectMqtt(url: string, options: IClientOptions, what: string): Promise<MqttClient> {
  try {
    return await connectAsync(url, { connectTimeout: 5_000, ...options, reconnectPeriod: 0 });
  } catch (err) {
    throw new BridgeError(
      'UNREACHABLE',
      `${what}: cannot connect to ${redactUrl(url)}: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
}
