import type { AddressInfo } from 'node:net';
import type { ProtocolServers } from './protocol-servers.js';

/** One network listener of `conveyor start`. Adding a door = adding an entry to LISTENERS. */
export interface ListenerModule {
  /** Key in `BrokerConfig.ports` and the first word of its "listening on" line. */
  name: string;
  /** The flag that sets its port (named in the "port in use" error). */
  portFlag: string;
  /** What usually holds its default port, for the "port in use" error. */
  likelyHolder: string;
  /** Starts listening; resolves to the address actually bound. */
  listen(servers: ProtocolServers, port: number, host: string): Promise<AddressInfo>;
}

export const LISTENERS: readonly ListenerModule[] = [
  {
    name: 'amqp',
    portFlag: '--amqp-port',
    likelyHolder: 'another AMQP broker such as RabbitMQ',
    listen: (servers, port, host) => servers.amqp().listen(port, host),
  },
  {
    name: 'mqtt',
    portFlag: '--mqtt-port',
    likelyHolder: 'another MQTT broker such as Mosquitto',
    listen: (servers, port, host) => servers.mqtt().listen(port, host),
  },
  {
    name: 'mqtt-ws',
    portFlag: '--mqtt-ws-port',
    likelyHolder: "RabbitMQ's Web MQTT plugin",
    listen: (servers, port, host) => servers.mqtt().listenWebSocket(port, host),
  },
  {
    name: 'http',
    portFlag: '--http-port',
    likelyHolder: "RabbitMQ's management plugin",
    listen: (servers, port, host) => servers.management().listen(port, host),
  },
];
