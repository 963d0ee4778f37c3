import type { AddressInfo } from 'node:net';
import type { TlsListenerOptions } from '@conveyor/core';
import type { ProtocolServers } from './protocol-servers.js';

/** One network listener of `conveyor start`. Adding a door = adding an entry to LISTENERS. */
export interface ListenerModule {
  /** Key in `BrokerConfig.ports` and the first word of its "listening on" line. */
  name: string;
  /** The flag that sets its port (named in the "port in use" error). */
  portFlag: string;
  /** What usually holds its default port, for the "port in use" error. */
  likelyHolder: string;
  /** A TLS listener: started only when the broker has a certificate, and given it. */
  tls?: true;
  /** Starts listening; resolves to the address actually bound. */
  listen(
    servers: ProtocolServers,
    port: number,
    host: string,
    tls?: TlsListenerOptions,
  ): Promise<AddressInfo>;
}

function needTls(tls: TlsListenerOptions | undefined): TlsListenerOptions {
  if (tls === undefined) throw new Error('a TLS listener was started without a certificate');
  return tls;
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
  {
    name: 'amqps',
    portFlag: '--amqps-port',
    likelyHolder: "another AMQP broker's TLS listener such as RabbitMQ's",
    tls: true,
    listen: (servers, port, host, tls) => servers.amqp().listenTls(port, host, needTls(tls)),
  },
  {
    name: 'mqtts',
    portFlag: '--mqtts-port',
    likelyHolder: "another MQTT broker's TLS listener such as Mosquitto's",
    tls: true,
    listen: (servers, port, host, tls) => servers.mqtt().listenTls(port, host, needTls(tls)),
  },
  {
    name: 'mqtt-wss',
    portFlag: '--mqtt-wss-port',
    likelyHolder: "RabbitMQ's Web MQTT TLS listener",
    tls: true,
    listen: (servers, port, host, tls) => servers.mqtt().listenWebSocketTls(port, host, needTls(tls)),
  },
  {
    name: 'https',
    portFlag: '--https-port',
    likelyHolder: "RabbitMQ's management plugin over HTTPS",
    tls: true,
    listen: (servers, port, host, tls) => servers.management().listenTls(port, host, needTls(tls)),
  },
];
