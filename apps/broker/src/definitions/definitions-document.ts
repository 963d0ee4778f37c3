/**
 * RabbitMQ's definitions JSON (`rabbitmqctl export_definitions`, `GET /api/definitions`): the
 * document's shape and its validation. Entries are checked before anything is applied, so a bad
 * file changes nothing; each error names the entry (`queues[3].arguments`).
 */
import { InvalidArgumentError } from '@conveyor/core';
import type { PolicyJson } from './policy-json.js';

export interface VhostDefinition {
  name: string;
}

export interface UserDefinition {
  name: string;
  password_hash: string;
  hashing_algorithm: string;
  tags: string[];
  limits: Record<string, unknown>;
}

export interface PermissionDefinition {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

export interface TopicPermissionDefinition {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}

export interface QueueDefinition {
  name: string;
  /** Absent in a one-vhost document (`/api/definitions/{vhost}`). */
  vhost?: string;
  durable: boolean;
  auto_delete: boolean;
  arguments: Record<string, unknown>;
  /** RabbitMQ 3.9+: `classic`, `quorum` or `stream`; Conveyor's queues are of the first two. */
  type?: string;
}

/** Queue types Conveyor's queues stand in for (a stream is something else). */
export const QUEUE_TYPES: readonly string[] = ['classic', 'quorum'];

export interface ExchangeDefinition {
  name: string;
  vhost?: string;
  type: string;
  durable: boolean;
  auto_delete: boolean;
  internal: boolean;
  arguments: Record<string, unknown>;
}

export interface BindingDefinition {
  source: string;
  vhost?: string;
  destination: string;
  destination_type: 'queue' | 'exchange';
  routing_key: string;
  arguments: Record<string, unknown>;
}

/** The document; every list may be absent (RabbitMQ's own exports always carry them all). */
export interface DefinitionsDocument {
  rabbit_version?: string;
  rabbitmq_version?: string;
  product_name?: string;
  product_version?: string;
  users?: UserDefinition[];
  vhosts?: VhostDefinition[];
  permissions?: PermissionDefinition[];
  topic_permissions?: TopicPermissionDefinition[];
  parameters?: unknown[];
  global_parameters?: unknown[];
  policies?: PolicyJson[];
  queues?: QueueDefinition[];
  exchanges?: ExchangeDefinition[];
  bindings?: BindingDefinition[];
}

/** The parts of a document this broker applies; `skipped` counts what it has no feature for yet. */
export interface ParsedTopology {
  vhosts: VhostDefinition[];
  queues: QueueDefinition[];
  exchanges: ExchangeDefinition[];
  bindings: BindingDefinition[];
  /** As written (policy-json.ts reads them). */
  policies: Record<string, unknown>[];
  skipped: { parameters: number; global_parameters: number };
}

type Entry = Record<string, unknown>;

function isRecord(value: unknown): value is Entry {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(message: string): InvalidArgumentError {
  return new InvalidArgumentError(`definitions: ${message}`);
}

function list(document: Entry, key: string): Entry[] {
  const value = document[key] ?? [];
  if (!Array.isArray(value) || !value.every(isRecord)) throw fail(`'${key}' must be a list of objects`);
  return value;
}

function text(entry: Entry, key: string, at: string, { empty = false } = {}): string {
  const value = entry[key];
  if (typeof value !== 'string' || (!empty && value === ''))
    throw fail(`'${at}.${key}' must be a${empty ? '' : ' non-empty'} string`);
  return value;
}

function flag(entry: Entry, key: string, at: string, fallback: boolean): boolean {
  const value = entry[key] ?? fallback;
  if (typeof value !== 'boolean') throw fail(`'${at}.${key}' must be true or false`);
  return value;
}

function table(entry: Entry, at: string): Record<string, unknown> {
  const value = entry.arguments ?? {};
  if (!isRecord(value)) throw fail(`'${at}.arguments' must be an object`);
  return value;
}

function vhostField(entry: Entry, at: string): { vhost?: string } {
  return entry.vhost === undefined ? {} : { vhost: text(entry, 'vhost', at) };
}

/** The topology half of a document (users are read by `usersFromDefinitions`). */
export function parseTopology(document: unknown): ParsedTopology {
  if (!isRecord(document)) throw fail('the document must be a JSON object');
  const vhosts = list(document, 'vhosts').map((v, i) => ({ name: text(v, 'name', `vhosts[${i}]`) }));
  const queues = list(document, 'queues').map((q, i): QueueDefinition => {
    const at = `queues[${i}]`;
    const type = q.type === undefined ? undefined : text(q, 'type', at);
    if (type !== undefined && !QUEUE_TYPES.includes(type))
      throw fail(`'${at}.type' is '${type}': only ${QUEUE_TYPES.join(' and ')} queues are supported`);
    return {
      name: text(q, 'name', at),
      ...vhostField(q, at),
      durable: flag(q, 'durable', at, true),
      auto_delete: flag(q, 'auto_delete', at, false),
      arguments: table(q, at),
      ...(type === undefined ? {} : { type }),
    };
  });
  const exchanges = list(document, 'exchanges').map((e, i): ExchangeDefinition => {
    const at = `exchanges[${i}]`;
    return {
      name: text(e, 'name', at),
      ...vhostField(e, at),
      type: text(e, 'type', at),
      durable: flag(e, 'durable', at, true),
      auto_delete: flag(e, 'auto_delete', at, false),
      internal: flag(e, 'internal', at, false),
      arguments: table(e, at),
    };
  });
  const bindings = list(document, 'bindings').map((b, i): BindingDefinition => {
    const at = `bindings[${i}]`;
    const kind = b.destination_type ?? 'queue';
    if (kind !== 'queue' && kind !== 'exchange')
      throw fail(`'${at}.destination_type' must be "queue" or "exchange"`);
    return {
      source: text(b, 'source', at, { empty: true }),
      ...vhostField(b, at),
      destination: text(b, 'destination', at),
      destination_type: kind,
      routing_key: text(b, 'routing_key', at, { empty: true }),
      arguments: table(b, at),
    };
  });
  const count = (key: string): number => {
    const value = document[key] ?? [];
    if (!Array.isArray(value)) throw fail(`'${key}' must be a list`);
    return value.length;
  };
  return {
    vhosts,
    queues,
    exchanges,
    bindings,
    policies: list(document, 'policies'),
    skipped: {
      parameters: count('parameters'),
      global_parameters: count('global_parameters'),
    },
  };
}
