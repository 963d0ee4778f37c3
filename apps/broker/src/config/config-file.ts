// The `--config FILE` format (YAML or JSON): every key is checked, and a mistyped one is named
// with the closest known key, because a silently ignored setting is worse than a refusal.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { BrokerUser, RawStartOptions } from '../config.js';
import { StartError } from '../errors.js';
import { closest } from './suggest.js';
import { parseTopology } from '../definitions/definitions-document.js';
import { parseUsers, usersFromDefinitions } from './users.js';

type ValueKind = 'string' | 'boolean' | 'port' | 'size' | 'count' | 'list';

/** Dotted key in the file → the option it sets, and what it must hold. */
const KEYS: Readonly<Record<string, { option: keyof RawStartOptions; kind: ValueKind }>> = {
  dataDir: { option: 'dataDir', kind: 'string' },
  memory: { option: 'memory', kind: 'boolean' },
  store: { option: 'store', kind: 'string' },
  bind: { option: 'bind', kind: 'string' },
  logLevel: { option: 'logLevel', kind: 'string' },
  definitions: { option: 'definitions', kind: 'string' },
  'amqp.port': { option: 'amqpPort', kind: 'port' },
  'mqtt.port': { option: 'mqttPort', kind: 'port' },
  'mqtt.wsPort': { option: 'mqttWsPort', kind: 'port' },
  'http.port': { option: 'httpPort', kind: 'port' },
  'limits.maxConnections': { option: 'maxConnections', kind: 'count' },
  'limits.queueDepthSoftLimit': { option: 'queueDepthSoftLimit', kind: 'count' },
  'limits.maxMessageBytes': { option: 'maxMessageBytes', kind: 'size' },
  'limits.memoryHighWatermark': { option: 'memoryHighWatermark', kind: 'size' },
  'amqp.tlsPort': { option: 'amqpsPort', kind: 'port' },
  'mqtt.tlsPort': { option: 'mqttsPort', kind: 'port' },
  'mqtt.wssPort': { option: 'mqttWssPort', kind: 'port' },
  'mqtt.anonymousUser': { option: 'mqttAnonymousUser', kind: 'string' },
  'mqtt.identityAsUsername': { option: 'mqttIdentityAsUsername', kind: 'boolean' },
  'mqtt.wsAllowedOrigins': { option: 'mqttWsAllowedOrigins', kind: 'list' },
  'mqtt.keepAliveMax': { option: 'mqttKeepAliveMax', kind: 'count' },
  'mqtt.receiveMaximum': { option: 'mqttReceiveMaximum', kind: 'count' },
  'mqtt.topicAliasMaximum': { option: 'mqttTopicAliasMaximum', kind: 'count' },
  'mqtt.maxPacketSize': { option: 'mqttMaxPacketSize', kind: 'size' },
  'mqtt.retainAvailable': { option: 'mqttRetainAvailable', kind: 'boolean' },
  'mqtt.qos0BufferBytes': { option: 'mqttQos0BufferBytes', kind: 'size' },
  'http.tlsPort': { option: 'httpsPort', kind: 'port' },
  'http.allowedHosts': { option: 'httpAllowedHosts', kind: 'list' },
  'tls.cert': { option: 'tlsCert', kind: 'string' },
  'tls.key': { option: 'tlsKey', kind: 'string' },
  'tls.ca': { option: 'tlsCa', kind: 'string' },
  'tls.verifyClient': { option: 'tlsVerifyClient', kind: 'boolean' },
  'tls.identityFrom': { option: 'tlsIdentityFrom', kind: 'string' },
};
const SECTIONS = ['amqp', 'mqtt', 'http', 'limits', 'tls'];
const ALL_KEYS = [...Object.keys(KEYS), ...SECTIONS, 'users', 'bridges'];

export interface ConfigFile {
  options: RawStartOptions;
  users?: BrokerUser[];
  /** `bridges:` (see bridge-command.ts); its entries are checked when the bridges start. */
  bridges?: unknown[];
}

function fail(message: string): StartError {
  return new StartError('INVALID_OPTIONS', `config: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value as the matching flag would carry it (a string), after checking its type. */
function flagValue(key: string, kind: ValueKind, value: unknown): string | boolean {
  const expected: Record<ValueKind, string> = {
    string: 'a string',
    boolean: 'true or false',
    port: 'a port number or "off"',
    size: 'a byte count or a size such as 16MiB',
    count: 'a positive whole number',
    list: 'a list of strings',
  };
  const ok =
    (kind === 'string' && typeof value === 'string') ||
    (kind === 'boolean' && typeof value === 'boolean') ||
    (kind === 'port' && (typeof value === 'number' || value === 'off')) ||
    (kind === 'size' && (typeof value === 'number' || typeof value === 'string')) ||
    (kind === 'count' && typeof value === 'number') ||
    (kind === 'list' &&
      Array.isArray(value) &&
      value.every((v) => typeof v === 'string' && !v.includes(',')));
  if (!ok) throw fail(`'${key}' must be ${expected[kind]}, got ${JSON.stringify(value)}`);
  if (kind === 'list') return (value as string[]).join(',');
  return typeof value === 'boolean' ? value : String(value);
}

function unknownKey(key: string): StartError {
  const hint = closest(key, ALL_KEYS);
  return fail(`unknown key '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
}

/** Checks a parsed config document; throws StartError naming the first bad key. */
export function validateConfig(document: unknown): ConfigFile {
  if (document === null || document === undefined) return { options: {} };
  if (!isRecord(document)) throw fail('the file must hold a mapping of settings');
  const options: RawStartOptions = {};
  let users: BrokerUser[] | undefined;
  let bridges: unknown[] | undefined;
  const visit = (record: Record<string, unknown>, prefix: string): void => {
    for (const [name, value] of Object.entries(record)) {
      const key = prefix + name;
      if (key === 'users') {
        users = parseUsers(value, 'config');
        continue;
      }
      if (key === 'bridges') {
        if (!Array.isArray(value)) throw fail(`'bridges' must be a list`);
        bridges = value;
        continue;
      }
      if (prefix === '' && SECTIONS.includes(name)) {
        if (!isRecord(value)) throw fail(`'${key}' must be a mapping`);
        visit(value, `${key}.`);
        continue;
      }
      const spec = KEYS[key];
      if (!spec) throw unknownKey(key);
      (options as Record<string, string | boolean>)[spec.option] = flagValue(key, spec.kind, value);
    }
  };
  visit(document, '');
  return {
    options,
    ...(users === undefined ? {} : { users }),
    ...(bridges === undefined ? {} : { bridges }),
  };
}

/** Reads a YAML or JSON document (JSON is YAML too; `.json` files get JSON's stricter parser). */
export function readDocument(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err);
    throw new StartError('INVALID_OPTIONS', `${what}: cannot read ${path}: ${reason}`, { cause: err });
  }
  try {
    return path.toLowerCase().endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new StartError(
      'INVALID_OPTIONS',
      `${what}: ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${reason}`,
      {
        cause: err,
      },
    );
  }
}

export function loadConfigFile(path: string): ConfigFile {
  return validateConfig(readDocument(path, 'config'));
}

/**
 * A RabbitMQ definitions file for `--definitions`: read and checked now (a bad one stops the start
 * before the store is opened), applied once the broker is open.
 */
export function loadDefinitionsFile(path: string): { path: string; document: Record<string, unknown> } {
  const what = `definitions ${path}`;
  const document = readDocument(path, what);
  if (!isRecord(document)) throw new StartError('INVALID_OPTIONS', `${what}: must be a JSON object`);
  try {
    parseTopology(document);
  } catch (err) {
    throw new StartError('INVALID_OPTIONS', `${what}: ${(err as Error).message}`, { cause: err });
  }
  usersFromDefinitions(document, what);
  return { path, document };
}

/** A users file: a list of users, a mapping with a `users` list, or a RabbitMQ definitions export. */
export function loadUsersFile(path: string): BrokerUser[] {
  const document = readDocument(path, `users ${path}`);
  if (isRecord(document) && isDefinitions(document)) return usersFromDefinitions(document, `users ${path}`);
  const list = isRecord(document) && 'users' in document ? document.users : document;
  return parseUsers(list, `users ${path}`);
}

/** RabbitMQ's definitions name their users `name` and carry `password_hash`. */
function isDefinitions(document: Record<string, unknown>): boolean {
  const users = document.users;
  return Array.isArray(users) && users.length > 0 && isRecord(users[0]) && 'password_hash' in users[0];
}
