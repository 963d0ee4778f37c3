/**
 * Who a connection authenticated as, and what it may do: RabbitMQ's configure/write/read
 * permissions on queue and exchange names per vhost, and its topic permissions on routing keys.
 * Every door asks the same questions here, so AMQP, MQTT and the HTTP API refuse alike.
 */
import { AccessRefusedError, InvalidArgumentError } from '../errors.js';
import { mayUseVhost, type TopicPermission, type UserAccount, type UserTag } from './accounts.js';

export type Permission = 'configure' | 'write' | 'read';
export type ResourceKind = 'queue' | 'exchange';

/** Values that stand for `{username}`, `{client_id}` and `{vhost}` in topic permissions. */
export interface TopicVariables {
  clientId?: string;
}

/** `''` allows nothing (RabbitMQ's rule); anything else is searched in the name, unanchored. */
type Matcher = RegExp | undefined;

interface CompiledVhost {
  configure: Matcher;
  write: Matcher;
  read: Matcher;
}

function compile(source: string, where: string): Matcher {
  if (source === '') return undefined;
  try {
    return new RegExp(source, 'u');
  } catch (err) {
    throw new InvalidArgumentError(`${where}: '${source}' is not a valid regular expression`, { cause: err });
  }
}

const ALL: CompiledVhost = { configure: /^/u, write: /^/u, read: /^/u };

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');
}

/** The user's permissions, compiled once (a bad expression is an error at start, not at use). */
export class CompiledPermissions {
  readonly #vhosts: Map<string, CompiledVhost> | undefined;
  readonly #topics: readonly TopicPermission[];

  constructor(readonly user: UserAccount) {
    const where = `user '${user.username}'`;
    if (user.permissions !== undefined) {
      this.#vhosts = new Map();
      for (const [vhost, p] of Object.entries(user.permissions))
        this.#vhosts.set(vhost, {
          configure: compile(p.configure, `${where} configure permission in vhost '${vhost}'`),
          write: compile(p.write, `${where} write permission in vhost '${vhost}'`),
          read: compile(p.read, `${where} read permission in vhost '${vhost}'`),
        });
    }
    this.#topics = user.topicPermissions ?? [];
    // Checked now with the variables left in; the expanded forms are compiled on use.
    for (const t of this.#topics) {
      compile(t.write.replace(/\{(username|client_id|vhost)\}/gu, 'x'), `${where} topic write permission`);
      compile(t.read.replace(/\{(username|client_id|vhost)\}/gu, 'x'), `${where} topic read permission`);
    }
  }

  vhost(vhost: string): CompiledVhost | undefined {
    if (!mayUseVhost(this.user, vhost)) return undefined;
    return this.#vhosts === undefined ? ALL : this.#vhosts.get(vhost);
  }

  /** The topic rule for one exchange, or undefined when the user has none there (every key allowed). */
  topic(vhost: string, exchange: string): TopicPermission | undefined {
    return this.#topics.find((t) => (t.vhost ?? '/') === vhost && t.exchange === exchange);
  }
}

export class Principal {
  readonly #compiled: CompiledPermissions;
  /** Made on first use: most principals of a broker with many clients never expand a topic rule. */
  #expanded: Map<string, Matcher> | undefined;

  constructor(compiled: CompiledPermissions) {
    this.#compiled = compiled;
  }

  get user(): UserAccount {
    return this.#compiled.user;
  }

  get username(): string {
    return this.#compiled.user.username;
  }

  get tags(): readonly UserTag[] {
    return this.#compiled.user.tags ?? [];
  }

  hasTag(tag: UserTag): boolean {
    return this.tags.includes(tag);
  }

  mayUseVhost(vhost: string): boolean {
    return this.#compiled.vhost(vhost) !== undefined;
  }

  /** Whether the user has `permission` on the queue or exchange `name` (`''`: the default exchange). */
  may(vhost: string, permission: Permission, kind: ResourceKind, name: string): boolean {
    const rules = this.#compiled.vhost(vhost);
    const matcher = rules?.[permission];
    return matcher !== undefined && matcher.test(resourceName(kind, name));
  }

  /** As `may`, or AccessRefusedError (AMQP 403) with RabbitMQ's text. */
  check(vhost: string, permission: Permission, kind: ResourceKind, name: string): void {
    if (!this.may(vhost, permission, kind, name))
      throw new AccessRefusedError(
        `access to ${kind} '${resourceName(kind, name)}' in vhost '${vhost}' refused for user '${this.username}'`,
      );
  }

  /** Topic permission on a routing key (a binding key for read) of a topic exchange. */
  mayTopic(
    vhost: string,
    exchange: string,
    permission: 'write' | 'read',
    routingKey: string,
    vars: TopicVariables = {},
  ): boolean {
    const rule = this.#compiled.topic(vhost, exchange);
    if (rule === undefined) return true;
    const matcher = this.#expand(rule[permission], vhost, vars);
    return matcher !== undefined && matcher.test(routingKey);
  }

  checkTopic(
    vhost: string,
    exchange: string,
    permission: 'write' | 'read',
    routingKey: string,
    vars: TopicVariables = {},
  ): void {
    if (!this.mayTopic(vhost, exchange, permission, routingKey, vars))
      throw new AccessRefusedError(
        `${permission} access to topic '${routingKey}' in exchange '${exchange}' in vhost '${vhost}' refused for user '${this.username}'`,
      );
  }

  /** The expression with the user's values in place, escaped: a `.` in a client id matches only a `.`. */
  #expand(source: string, vhost: string, vars: TopicVariables): Matcher {
    const expanded = source.replace(/\{(username|client_id|vhost)\}/gu, (_m, name: string) =>
      escapeRegExp(name === 'username' ? this.username : name === 'vhost' ? vhost : (vars.clientId ?? '')),
    );
    const cache = (this.#expanded ??= new Map());
    if (!cache.has(expanded)) {
      if (cache.size > 1000) cache.clear();
      cache.set(expanded, compile(expanded, `user '${this.username}' topic permission`));
    }
    return cache.get(expanded);
  }
}

/** RabbitMQ names the default exchange `amq.default` in permissions. */
function resourceName(kind: ResourceKind, name: string): string {
  return kind === 'exchange' && name === '' ? 'amq.default' : name;
}
