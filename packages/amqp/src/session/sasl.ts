/** SASL PLAIN and AMQPLAIN responses, and the user check (RabbitMQ's `loopback_users` included). */
import { isLoopbackAddress, type UserAccount } from '@conveyor/core';
import { decodeFieldTable } from '../codec/index.js';

/** Who may log in: an account, with the virtual hosts it may open. */
export type AmqpUser = UserAccount;

export const DEFAULT_USERS: readonly AmqpUser[] = [
  { username: 'guest', password: 'guest', loopbackOnly: true },
];
export const MECHANISMS = ['PLAIN', 'AMQPLAIN'] as const;

export interface Credentials {
  username: string;
  password: string;
}

/** Decodes a start-ok response; undefined when the mechanism is unknown or the response malformed. */
export function parseSaslResponse(mechanism: string, response: Buffer): Credentials | undefined {
  if (mechanism === 'PLAIN') {
    // authzid NUL authcid NUL passwd
    const parts = response.toString('utf8').split('\u0000');
    if (parts.length !== 3) return undefined;
    return { username: parts[1]!, password: parts[2]! };
  }
  if (mechanism === 'AMQPLAIN') {
    // A field table without its length prefix.
    const framed = Buffer.allocUnsafe(response.length + 4);
    framed.writeUInt32BE(response.length, 0);
    response.copy(framed, 4);
    try {
      const table = decodeFieldTable(framed);
      const login = table['LOGIN'];
      const password = table['PASSWORD'];
      if (typeof login !== 'string' || typeof password !== 'string') return undefined;
      return { username: login, password };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Returns the reason for refusal, or undefined when the user may log in. */
export function checkUser(
  users: readonly AmqpUser[],
  creds: Credentials,
  remoteAddress: string | undefined,
): string | undefined {
  const user = users.find((u) => u.username === creds.username);
  if (!user || user.password !== creds.password) {
    return `Login was refused using authentication mechanism. For details see the broker logfile.`;
  }
  if (user.loopbackOnly && !isLoopbackAddress(remoteAddress))
    return `user '${user.username}' can only connect via localhost`;
  return undefined;
}
