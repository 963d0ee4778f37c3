/** What the server announces in connection.start, and what it reads from the client's properties. */
import type { Headers } from '../codec/index.js';

export const SERVER_CAPABILITIES: Headers = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  authentication_failure_close: true,
  per_consumer_qos: true,
  direct_reply_to: true,
  /** Conveyor's own: see methods/dead-letter.ts. */
  dead_letter_with_reason: true,
};

export function serverProperties(): Headers {
  return {
    product: 'Conveyor',
    version: '0.1.0',
    platform: `Node.js ${process.version}`,
    copyright: 'Conveyor contributors',
    information: 'Licensed under the MIT licence',
    cluster_name: 'conveyor',
    capabilities: SERVER_CAPABILITIES,
  };
}

export interface ClientCapabilities {
  consumerCancelNotify: boolean;
  connectionBlocked: boolean;
  /**
   * basic.qos in the spec's meaning: `global=false` limits the whole channel, consumers already
   * there included. py-amqp's users (kombu, so Celery) choose the flag by the server's product and
   * send `global=false` for the channel limit to any server that is not RabbitMQ; everyone else
   * gets RabbitMQ's meaning (`global=false`: each consumer created afterwards).
   */
  specQos: boolean;
}

export function clientCapabilities(clientProperties: Headers): ClientCapabilities {
  const caps = clientProperties['capabilities'];
  const table =
    typeof caps === 'object' &&
    caps !== null &&
    !Array.isArray(caps) &&
    !(caps instanceof Date) &&
    !(caps instanceof Uint8Array)
      ? caps
      : {};
  return {
    consumerCancelNotify: table['consumer_cancel_notify'] === true,
    connectionBlocked: table['connection.blocked'] === true,
    specQos: clientProperties['product'] === 'py-amqp',
  };
}
