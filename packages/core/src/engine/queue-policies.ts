/**
 * Policies: queue behaviour set by name pattern, without redeclaring (RabbitMQ's model). Of the
 * policies whose pattern matches a queue's name and that apply to queues, the one with the
 * highest priority is the queue's policy (equal priorities: the first name in order, so every
 * node picks the same one). Its definition is laid over the declared options: limits take the
 * lower of the two (TTL, expiry, length, bytes, delivery limit), as RabbitMQ merges them; the
 * dead-letter target and the overflow behaviour a queue was declared with win over the policy's.
 */
import { InvalidArgumentError } from '../errors.js';
import type { OverflowPolicy, ResolvedQueueOptions } from './queue-options.js';

/** What a policy applies to; one for exchanges only never changes a queue. */
export type PolicyTarget = 'queues' | 'exchanges' | 'all';
export const POLICY_TARGETS: readonly PolicyTarget[] = ['queues', 'exchanges', 'all'];

/** The queue options a policy may set (engine names; the management API maps RabbitMQ's keys). */
export interface QueuePolicyDefinition {
  messageTtlMs?: number;
  expiresMs?: number;
  maxLength?: number;
  maxBytes?: number;
  overflow?: OverflowPolicy;
  deadLetter?: { exchange: string; routingKey?: string };
  /** Deliveries, the first one included (the engine's count). */
  maxDeliveries?: number;
}

export interface QueuePolicy {
  name: string;
  /** A regular expression: the policy applies to names it finds a match in (`^orders\.`). */
  pattern: string;
  applyTo: PolicyTarget;
  /** Higher wins when several match. Default 0. */
  priority: number;
  definition: QueuePolicyDefinition;
}

const LIMITS = ['messageTtlMs', 'expiresMs', 'maxLength', 'maxBytes', 'maxDeliveries'] as const;
const OVERFLOWS: readonly OverflowPolicy[] = ['drop-head', 'reject-publish', 'reject-publish-dlx'];

function invalid(policy: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`policy '${policy}': ${why}`);
}

/** Checks a policy; returns its compiled pattern. */
export function compilePolicy(policy: QueuePolicy): RegExp {
  if (typeof policy.name !== 'string' || policy.name === '')
    throw new InvalidArgumentError('a policy needs a name');
  if (!POLICY_TARGETS.includes(policy.applyTo))
    throw invalid(policy.name, `apply-to must be one of ${POLICY_TARGETS.join(', ')}`);
  if (!Number.isInteger(policy.priority)) throw invalid(policy.name, 'priority must be a whole number');
  const d = policy.definition;
  if (typeof d !== 'object' || d === null) throw invalid(policy.name, 'a definition is required');
  for (const key of LIMITS) {
    const v = d[key];
    const min = key === 'maxLength' || key === 'maxBytes' ? 0 : 1;
    if (v !== undefined && (!Number.isInteger(v) || v < min))
      throw invalid(policy.name, `${key} must be a whole number of at least ${min}`);
  }
  if (d.overflow !== undefined && !OVERFLOWS.includes(d.overflow))
    throw invalid(policy.name, `overflow must be one of ${OVERFLOWS.join(', ')}`);
  if (d.deadLetter !== undefined && typeof d.deadLetter.exchange !== 'string')
    throw invalid(policy.name, 'a dead-letter target needs an exchange');
  try {
    return new RegExp(policy.pattern, 'u');
  } catch {
    throw invalid(
      policy.name,
      `pattern is not a valid regular expression: ${JSON.stringify(policy.pattern)}`,
    );
  }
}

/** Throws InvalidArgumentError for a policy `setPolicy` would refuse (to check a batch first). */
export function checkPolicy(policy: QueuePolicy): void {
  compilePolicy(policy);
}

/** One vhost's policies, and which one a queue of a given name has. */
export class PolicySet {
  readonly #policies = new Map<string, { policy: QueuePolicy; pattern: RegExp }>();

  set(policy: QueuePolicy): void {
    this.#policies.set(policy.name, { policy, pattern: compilePolicy(policy) });
  }

  delete(name: string): boolean {
    return this.#policies.delete(name);
  }

  get(name: string): QueuePolicy | undefined {
    return this.#policies.get(name)?.policy;
  }

  list(): QueuePolicy[] {
    return [...this.#policies.values()].map((p) => p.policy).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The policy of the queue `name`, if any applies. */
  forQueue(name: string): QueuePolicy | undefined {
    let best: QueuePolicy | undefined;
    for (const { policy, pattern } of this.#policies.values()) {
      if (policy.applyTo === 'exchanges' || !pattern.test(name)) continue;
      if (
        !best ||
        policy.priority > best.priority ||
        (policy.priority === best.priority && policy.name < best.name)
      )
        best = policy;
    }
    return best;
  }
}

/** The options a queue runs with: what it was declared with, and its policy laid over them. */
export function effectiveOptions(
  declared: ResolvedQueueOptions,
  policy: QueuePolicy | undefined,
): ResolvedQueueOptions {
  if (!policy) return declared;
  const d = policy.definition;
  const options: ResolvedQueueOptions = { ...declared };
  for (const key of LIMITS) {
    const mine = declared[key];
    const theirs = d[key];
    if (theirs !== undefined) options[key] = mine === undefined ? theirs : Math.min(mine, theirs);
  }
  // 'drop-head' is also the default: a queue declared without an overflow takes the policy's.
  if (d.overflow !== undefined && declared.overflow === 'drop-head') options.overflow = d.overflow;
  if (d.deadLetter !== undefined && declared.deadLetter === undefined) options.deadLetter = d.deadLetter;
  return options;
}
