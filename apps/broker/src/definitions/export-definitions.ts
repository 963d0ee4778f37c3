/**
 * The broker's topology, users and permissions as RabbitMQ's definitions JSON, so that a file
 * exported here imports into RabbitMQ (`rabbitmqctl import_definitions`, `POST /api/definitions`)
 * and back. What RabbitMQ would not export is left out: exclusive queues, the server's `amq.*`
 * queues and exchanges, the default exchange and its implicit bindings.
 */
import { amqpExchangeType, queueArgumentsOf } from '@conveyor/amqp/internal';
import {
  hashPassword,
  mayUseVhost,
  type Authenticator,
  type Broker,
  type UserAccount,
  type VirtualHost,
} from '@conveyor/core';
import type {
  BindingDefinition,
  DefinitionsDocument,
  ExchangeDefinition,
  PermissionDefinition,
  QueueDefinition,
  TopicPermissionDefinition,
  UserDefinition,
} from './definitions-document.js';
import { policyToJson, type PolicyJson } from './policy-json.js';

/** Names the server keeps for itself (RabbitMQ refuses them to clients, and does not export them). */
const serverOwned = (name: string): boolean => name === '' || name.startsWith('amq.');

const EVERYTHING = { configure: '.*', write: '.*', read: '.*' };

async function queuesOf(vhost: VirtualHost, named: boolean): Promise<QueueDefinition[]> {
  const queues = await vhost.listQueues();
  return queues
    .filter((q) => !q.options.exclusive && !serverOwned(q.name))
    .map((q) => {
      const args = queueArgumentsOf(q.options);
      return {
        name: q.name,
        ...(named ? { vhost: vhost.vhost } : {}),
        durable: q.options.durable,
        auto_delete: q.options.autoDelete,
        arguments: args,
        // As RabbitMQ 3.9+ exports it: the declared x-queue-type, else classic.
        type: args['x-queue-type'] === 'quorum' ? 'quorum' : 'classic',
      };
    });
}

function exchangesOf(vhost: VirtualHost, named: boolean): ExchangeDefinition[] {
  return vhost
    .exchanges()
    .filter((e) => !serverOwned(e.name))
    .map((e) => {
      const { type, arguments: args } = amqpExchangeType(e);
      return {
        name: e.name,
        ...(named ? { vhost: vhost.vhost } : {}),
        type,
        durable: e.options.durable,
        auto_delete: e.options.autoDelete,
        internal: e.options.internal,
        arguments: args,
      };
    });
}

function bindingsOf(vhost: VirtualHost, named: boolean, queues: Set<string>): BindingDefinition[] {
  return vhost
    .bindings()
    .filter((b) => b.source !== '' && (b.destination.kind === 'exchange' || queues.has(b.destination.name)))
    .map((b) => ({
      source: b.source,
      ...(named ? { vhost: vhost.vhost } : {}),
      destination: b.destination.name,
      destination_type: b.destination.kind,
      routing_key: b.routingKey,
      arguments: { ...b.arguments },
    }));
}

function userOf(user: UserAccount): UserDefinition {
  const algorithm = user.hashingAlgorithm ?? 'rabbit_password_hashing_sha256';
  return {
    name: user.username,
    // A user configured with a plain password leaves as a hash, never as the password.
    password_hash: user.passwordHash ?? hashPassword(user.password ?? '', algorithm),
    hashing_algorithm: algorithm,
    tags: [...(user.tags ?? [])],
    limits: {},
  };
}

/** A user without `permissions` may do everything in every vhost it may use: one entry each. */
function permissionsOf(user: UserAccount, vhosts: readonly string[]): PermissionDefinition[] {
  const granted =
    user.permissions ??
    Object.fromEntries(vhosts.filter((v) => mayUseVhost(user, v)).map((v) => [v, EVERYTHING]));
  return Object.entries(granted).map(([vhost, p]) => ({ user: user.username, vhost, ...p }));
}

function topicPermissionsOf(user: UserAccount): TopicPermissionDefinition[] {
  return (user.topicPermissions ?? []).map((t) => ({
    user: user.username,
    vhost: t.vhost ?? '/',
    exchange: t.exchange,
    write: t.write,
    read: t.read,
  }));
}

export interface ExportSource {
  broker: Broker;
  authenticator: Authenticator;
  /** This broker's version (the document's product_version). */
  version: string;
}

/**
 * The whole broker (`vhost` undefined), or one vhost as RabbitMQ's `/api/definitions/{vhost}`
 * gives it: its queues, exchanges and bindings without vhost fields, and no users.
 */
export async function exportDefinitions(source: ExportSource, vhost?: string): Promise<DefinitionsDocument> {
  const { broker, authenticator } = source;
  const names = vhost === undefined ? broker.vhosts().sort() : [broker.vhost(vhost).vhost];
  const named = vhost === undefined;
  const queues: QueueDefinition[] = [];
  const exchanges: ExchangeDefinition[] = [];
  const bindings: BindingDefinition[] = [];
  const policies: PolicyJson[] = [];
  for (const name of names) {
    const host = broker.vhost(name);
    policies.push(...host.policies().map((p) => policyToJson(p, named ? name : undefined)));
    const own = await queuesOf(host, named);
    queues.push(...own);
    exchanges.push(...exchangesOf(host, named));
    bindings.push(...bindingsOf(host, named, new Set(own.map((q) => q.name))));
  }
  const product = { product_name: 'Conveyor', product_version: source.version };
  const topology = { policies, parameters: [], queues, exchanges, bindings };
  if (!named) return { ...product, ...topology };
  const users = authenticator.users;
  return {
    ...product,
    users: users.map(userOf),
    vhosts: names.map((name) => ({ name })),
    permissions: users.flatMap((u) => permissionsOf(u, names)),
    topic_permissions: users.flatMap(topicPermissionsOf),
    global_parameters: [],
    ...topology,
  };
}
