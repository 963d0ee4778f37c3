/** SASL PLAIN, AMQPLAIN and EXTERNAL responses (RabbitMQ's mechanisms). */
import { GUEST_USER, type UserAccount } from '@conveyor/core';
import { decodeFieldTable } from '../codec/index.js';

/** Who may log in: an account, with the virtual hosts it may open. */
export type AmqpUser = UserAccount;

export const DEFAULT_USERS: readonly AmqpUser[] = [GUEST_USER];
export const PASSWORD_MECHANISMS = ['PLAIN', 'AMQPLAIN'] as const;

/** What the client's start-ok says: a user name and password, or EXTERNAL (the certificate's identity). */
export type SaslCredentials = { kind: 'password'; username: string; password: string } | { kind: 'external' };

/** The mechanisms offered: EXTERNAL only on a connection with a verified client certificate. */
export function mechanisms(external: boolean): string[] {
  return external ? ['EXTERNAL', ...PASSWORD_MECHANISMS] : [...PASSWORD_MECHANISMS];
}

/** Decodes a start-ok response; undefined when the mechanism is unknown or the response malformed. */
export function parseSaslResponse(mechanism: string, response: Buffer): SaslCredentials | undefined {
  if (mechanism === 'PLAIN') {
    // authzid NUL authcid NUL passwd
    const parts = response.toString('utf8').split('\u0000');
    if (parts.length !== 3) return undefined;
    return { kind: 'password', username: parts[1]!, password: parts[2]! };
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
      return { kind: 'password', username: login, password };
    } catch {
      return undefined;
    }
  }
  // EXTERNAL: the response (an authorization identity) is ignored, as RabbitMQ does.
  if (mechanism === 'EXTERNAL') return { kind: 'external' };
  return undefined;
}
