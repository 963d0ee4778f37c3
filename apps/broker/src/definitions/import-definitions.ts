/**
 * Applies a RabbitMQ definitions document: vhosts, users with their password hashes, tags,
 * permissions and topic permissions, exchanges, queues with their arguments, bindings. Every
 * entry is checked first, so a bad document changes nothing; applying is idempotent (a second
 * import of the same file declares what exists already, equivalently). Policies and parameters
 * are counted as skipped: this broker has no policies yet.
 */
import { exchangeKindOf, queueOptionsFromArguments } from '@conveyor/amqp/internal';
import {
  checkPolicy,
  hashPassword,
  InvalidArgumentError,
  isConveyorError,
  type Authenticator,
  type Broker,
  type ExchangeKind,
  type Headers,
  type QueueOptions,
  type TopicPermission,
  type UserAccount,
  type VhostPermissions,
} from '@conveyor/core';
import { parseUsers, usersFromDefinitions } from '../config/users.js';
import { StartError } from '../errors.js';
import { parseTopology, type BindingDefinition } from './definitions-document.js';
import { policyFromJson } from './policy-json.js';
import { saveImportedUser } from './imported-users.js';

export interface ImportTarget {
  broker: Broker;
  authenticator: Authenticator;
}

export interface ImportSummary {
  vhosts: number;
  users: number;
  exchanges: number;
  queues: number;
  bindings: number;
  policies: number;
  /** Policy definition keys not applied (`ha-mode`, …): Conveyor has no such behaviour. */
  ignoredPolicyKeys: string[];
  /** In the document but not applied: Conveyor has no runtime parameters. */
  skipped: { parameters: number; global_parameters: number };
}

interface PlannedExchange {
  vhost: string;
  name: string;
  kind: ExchangeKind;
  options: {
    durable: boolean;
    autoDelete: boolean;
    internal: boolean;
    delayed?: boolean;
    arguments: Headers;
  };
}

interface PlannedQueue {
  vhost: string;
  name: string;
  options: QueueOptions;
}

/** An entry's failure, named the way an operator finds it in the file. */
function entryError(what: string, err: unknown): Error {
  if (!isConveyorError(err)) return err as Error;
  return new InvalidArgumentError(`definitions: ${what}: ${err.message}`);
}

/** The users checks of the config files, their errors as the API's. */
function checked(read: () => UserAccount[]): UserAccount[] {
  try {
    return read();
  } catch (err) {
    if (err instanceof StartError) throw new InvalidArgumentError(err.message, { cause: err });
    throw err;
  }
}

type Grant = Record<string, unknown>;

function grantsOf(document: Record<string, unknown>, key: string): Grant[] {
  const value = document[key] ?? [];
  return Array.isArray(value) ? (value as Grant[]) : [];
}

/**
 * Permissions and topic permissions for users the document does not list go to the broker's
 * users of those names, as RabbitMQ applies them. A user without `permissions` may already do
 * everything in every vhost: a grant adds nothing to that.
 */
function grantedToOthers(
  document: Record<string, unknown>,
  listed: ReadonlySet<string>,
  authenticator: Authenticator,
): UserAccount[] {
  const changed = new Map<string, UserAccount>();
  const accountOf = (name: unknown): UserAccount => {
    const known = changed.get(String(name)) ?? authenticator.users.find((u) => u.username === name);
    if (!known)
      throw new InvalidArgumentError(
        `definitions: a permission for user '${String(name)}', who is neither in the document nor on this broker`,
      );
    return known;
  };
  for (const p of grantsOf(document, 'permissions')) {
    if (listed.has(String(p.user))) continue;
    const user = accountOf(p.user);
    if (user.permissions === undefined) continue;
    // Checked with the user below (parseUsers), like a users file's entries.
    const grant = { configure: p.configure, write: p.write, read: p.read } as VhostPermissions;
    changed.set(user.username, { ...user, permissions: { ...user.permissions, [String(p.vhost)]: grant } });
  }
  for (const t of grantsOf(document, 'topic_permissions')) {
    if (listed.has(String(t.user))) continue;
    const user = accountOf(t.user);
    const rule = { vhost: t.vhost, exchange: t.exchange, write: t.write, read: t.read } as TopicPermission;
    const others = (user.topicPermissions ?? []).filter(
      (r) => !((r.vhost ?? '/') === (t.vhost ?? '/') && r.exchange === t.exchange),
    );
    changed.set(user.username, { ...user, topicPermissions: [...others, rule] });
  }
  // Kept in the store from now on: a configured plain password goes there only as a hash.
  const hashed = [...changed.values()].map(({ password, ...user }) =>
    password === undefined ? user : { ...user, passwordHash: hashPassword(password, user.hashingAlgorithm) },
  );
  return checked(() => parseUsers(hashed, 'definitions'));
}

/**
 * The whole document (`vhost` undefined), or one vhost's part as RabbitMQ's
 * `POST /api/definitions/{vhost}` takes it: queues, exchanges and bindings go to that vhost
 * whatever their vhost fields say; users, vhosts and permissions are not read.
 */
export async function importDefinitions(
  target: ImportTarget,
  document: unknown,
  vhost?: string,
): Promise<ImportSummary> {
  const { broker, authenticator } = target;
  const topology = parseTopology(document);
  const whole = vhost === undefined;
  if (!whole) broker.vhost(vhost); // 404 for a vhost that does not exist
  const record = document as Record<string, unknown>;
  const listed = whole ? checked(() => usersFromDefinitions(record, 'definitions')) : [];
  const granted = whole ? grantedToOthers(record, new Set(listed.map((u) => u.username)), authenticator) : [];
  const users = [...listed, ...granted];
  const vhostOf = (entry: { vhost?: string }): string => vhost ?? entry.vhost ?? '/';

  // Check everything before changing anything.
  const exchanges: PlannedExchange[] = topology.exchanges.map((e, i) => {
    const what = `exchange '${e.name}' (exchanges[${i}])`;
    let known;
    try {
      known = exchangeKindOf(e.type, e.arguments);
    } catch (err) {
      throw entryError(what, err);
    }
    if (!known) throw new InvalidArgumentError(`definitions: ${what}: unknown exchange type '${e.type}'`);
    return {
      vhost: vhostOf(e),
      name: e.name,
      kind: known.kind,
      options: {
        durable: e.durable,
        autoDelete: e.auto_delete,
        internal: e.internal,
        ...(known.delayed ? { delayed: true } : {}),
        arguments: e.arguments as Headers,
      },
    };
  });
  const queues: PlannedQueue[] = topology.queues.map((q, i) => {
    try {
      const options = queueOptionsFromArguments(q.arguments as Headers, {
        durable: q.durable,
        exclusive: false,
        autoDelete: q.auto_delete,
      });
      return { vhost: vhostOf(q), name: q.name, options };
    } catch (err) {
      throw entryError(`queue '${q.name}' (queues[${i}])`, err);
    }
  });
  const ignored = new Set<string>();
  const policies = topology.policies.map((entry, i) => {
    const read = (() => {
      try {
        const parsed = policyFromJson(entry);
        checkPolicy(parsed.policy);
        return parsed;
      } catch (err) {
        throw entryError(`policies[${i}]`, err);
      }
    })();
    for (const key of read.ignored) ignored.add(key);
    return { vhost: vhostOf(read), policy: read.policy };
  });
  const vhosts = whole ? topology.vhosts.map((v) => v.name) : [];
  const known = new Set([...broker.vhosts(), ...vhosts]);
  const placed = [
    ...exchanges,
    ...queues,
    ...policies,
    ...topology.bindings.map((b) => ({ vhost: vhostOf(b) })),
  ];
  for (const entry of placed)
    if (!known.has(entry.vhost))
      throw new InvalidArgumentError(
        `definitions: vhost '${entry.vhost}' is neither in the document's vhosts nor on this broker`,
      );

  for (const name of vhosts) await broker.addVhost(name);
  for (const user of users) {
    authenticator.put(user);
    await saveImportedUser(broker.store, user);
  }
  // Before the queues: a queue the file declares starts with its policy.
  for (const p of policies) await broker.vhost(p.vhost).setPolicy(p.policy);
  for (const e of exchanges)
    await broker
      .vhost(e.vhost)
      .declareExchange(e.name, e.kind, e.options)
      .catch((err: unknown) => {
        throw entryError(`exchange '${e.name}' in vhost '${e.vhost}'`, err);
      });
  for (const q of queues)
    await broker
      .vhost(q.vhost)
      .declareQueue(q.name, q.options)
      .catch((err: unknown) => {
        throw entryError(`queue '${q.name}' in vhost '${q.vhost}'`, err);
      });
  let bindings = 0;
  for (const b of topology.bindings) if (await bind(broker, vhostOf(b), b)) bindings++;
  return {
    vhosts: vhosts.length,
    users: listed.length,
    exchanges: exchanges.length,
    queues: queues.length,
    bindings,
    policies: policies.length,
    ignoredPolicyKeys: [...ignored].sort(),
    skipped: topology.skipped,
  };
}

/** The default exchange's bindings are implicit: nothing to do for them. */
async function bind(broker: Broker, vhost: string, b: BindingDefinition): Promise<boolean> {
  if (b.source === '') return false;
  const host = broker.vhost(vhost);
  const args = b.arguments as Headers;
  try {
    if (b.destination_type === 'queue') await host.bindQueue(b.destination, b.source, b.routing_key, args);
    else await host.bindExchange(b.destination, b.source, b.routing_key, args);
  } catch (err) {
    throw entryError(
      `binding of ${b.destination_type} '${b.destination}' to exchange '${b.source}' in vhost '${vhost}'`,
      err,
    );
  }
  return true;
}
