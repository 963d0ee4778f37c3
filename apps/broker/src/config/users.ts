import { StartError } from '../errors.js';
import type { BrokerUser } from '../config.js';
import { closest } from './suggest.js';

const USER_KEYS = ['username', 'password', 'loopbackOnly', 'vhosts'];

/** Validates a `users` list (config file or users file); `where` prefixes every error ("config", "users FILE"). */
export function parseUsers(value: unknown, where: string, path = 'users'): BrokerUser[] {
  const fail = (message: string): StartError => new StartError('INVALID_OPTIONS', `${where}: ${message}`);
  if (!Array.isArray(value))
    throw fail(`'${path}' must be a list of {username, password, loopbackOnly, vhosts}`);
  const users = value.map((entry: unknown, i): BrokerUser => {
    const at = `${path}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw fail(`'${at}' must be an object with username and password`);
    const record = entry as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (USER_KEYS.includes(key)) continue;
      const hint = closest(key, USER_KEYS);
      throw fail(`unknown key '${at}.${key}'${hint ? ` (did you mean '${at}.${hint}'?)` : ''}`);
    }
    const { username, password, loopbackOnly, vhosts } = record;
    if (typeof username !== 'string' || username === '')
      throw fail(`'${at}.username' must be a non-empty string`);
    if (typeof password !== 'string') throw fail(`'${at}.password' must be a string`);
    if (loopbackOnly !== undefined && typeof loopbackOnly !== 'boolean')
      throw fail(`'${at}.loopbackOnly' must be true or false`);
    if (vhosts !== undefined && !(Array.isArray(vhosts) && vhosts.every((v) => typeof v === 'string')))
      throw fail(`'${at}.vhosts' must be a list of virtual host names`);
    const user: BrokerUser = { username, password, loopbackOnly: loopbackOnly === true };
    if (vhosts !== undefined) user.vhosts = vhosts as string[];
    return user;
  });
  const names = new Set<string>();
  for (const user of users) {
    if (names.has(user.username)) throw fail(`user '${user.username}' is listed twice`);
    names.add(user.username);
  }
  return users;
}
