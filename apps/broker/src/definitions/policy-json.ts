/**
 * RabbitMQ's policy JSON (`rabbitmqctl set_policy`, `PUT /api/policies/{vhost}/{name}`, the
 * definitions file's `policies`) ↔ the engine's QueuePolicy. The keys mapped are the queue
 * behaviour Conveyor has; others (`ha-mode`, `queue-mode`, federation …) are not applied and are
 * named in `ignored`, so an import of a RabbitMQ file with them still applies the rest.
 */
import {
  InvalidArgumentError,
  POLICY_TARGETS,
  type OverflowPolicy,
  type PolicyTarget,
  type QueuePolicy,
  type QueuePolicyDefinition,
} from '@conveyor/core';

export interface PolicyJson {
  name: string;
  vhost?: string;
  pattern: string;
  'apply-to': PolicyTarget;
  definition: Record<string, unknown>;
  priority: number;
}

const NUMBERS: Record<string, keyof QueuePolicyDefinition> = {
  'message-ttl': 'messageTtlMs',
  expires: 'expiresMs',
  'max-length': 'maxLength',
  'max-length-bytes': 'maxBytes',
};
const MAPPED = [
  ...Object.keys(NUMBERS),
  'overflow',
  'dead-letter-exchange',
  'dead-letter-routing-key',
  'delivery-limit',
];

function fail(name: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`policy '${name}': ${why}`);
}

function integer(name: string, key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw fail(name, `'${key}' must be a whole number, got ${JSON.stringify(value)}`);
  return value;
}

/** One policy as RabbitMQ writes it; `ignored` lists the definition keys Conveyor does not apply. */
export function policyFromJson(
  entry: Record<string, unknown>,
  fallbackName?: string,
): {
  policy: QueuePolicy;
  vhost?: string;
  ignored: string[];
} {
  const name = entry.name ?? fallbackName;
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('a policy needs a name');
  if (typeof entry.pattern !== 'string')
    throw fail(name, "'pattern' must be a regular expression (a string)");
  const applyTo = entry['apply-to'] ?? 'all';
  if (!POLICY_TARGETS.includes(applyTo as PolicyTarget))
    throw fail(name, `'apply-to' must be one of ${POLICY_TARGETS.join(', ')}`);
  const priority = entry.priority === undefined ? 0 : integer(name, 'priority', entry.priority);
  const raw = entry.definition;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw fail(name, "'definition' must be an object");
  const d = raw as Record<string, unknown>;
  const definition: QueuePolicyDefinition = {};
  for (const [key, field] of Object.entries(NUMBERS))
    if (d[key] !== undefined) Object.assign(definition, { [field]: integer(name, key, d[key]) });
  if (d['delivery-limit'] !== undefined)
    // RabbitMQ counts redeliveries; the engine counts deliveries, the first one included.
    definition.maxDeliveries = integer(name, 'delivery-limit', d['delivery-limit']) + 1;
  if (d.overflow !== undefined) definition.overflow = d.overflow as OverflowPolicy;
  const dlx = d['dead-letter-exchange'];
  const dlk = d['dead-letter-routing-key'];
  if (dlx !== undefined) {
    if (typeof dlx !== 'string') throw fail(name, "'dead-letter-exchange' must be a string");
    if (dlk !== undefined && typeof dlk !== 'string')
      throw fail(name, "'dead-letter-routing-key' must be a string");
    definition.deadLetter = dlk === undefined ? { exchange: dlx } : { exchange: dlx, routingKey: dlk };
  } else if (dlk !== undefined) throw fail(name, "'dead-letter-routing-key' needs 'dead-letter-exchange'");
  const vhost = entry.vhost;
  if (vhost !== undefined && typeof vhost !== 'string') throw fail(name, "'vhost' must be a string");
  return {
    policy: { name, pattern: entry.pattern, applyTo: applyTo as PolicyTarget, priority, definition },
    ...(vhost === undefined ? {} : { vhost }),
    ignored: Object.keys(d).filter((k) => !MAPPED.includes(k)),
  };
}

/** The engine's policy as RabbitMQ writes it. */
export function policyToJson(policy: QueuePolicy, vhost?: string): PolicyJson {
  const d = policy.definition;
  const definition: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(NUMBERS)) if (d[field] !== undefined) definition[key] = d[field];
  if (d.maxDeliveries !== undefined) definition['delivery-limit'] = d.maxDeliveries - 1;
  if (d.overflow !== undefined) definition.overflow = d.overflow;
  if (d.deadLetter !== undefined) {
    definition['dead-letter-exchange'] = d.deadLetter.exchange;
    if (d.deadLetter.routingKey !== undefined)
      definition['dead-letter-routing-key'] = d.deadLetter.routingKey;
  }
  return {
    ...(vhost === undefined ? {} : { vhost }),
    name: policy.name,
    pattern: policy.pattern,
    'apply-to': policy.applyTo,
    definition,
    priority: policy.priority,
  };
}
