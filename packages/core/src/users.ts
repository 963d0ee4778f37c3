import { isIP } from 'node:net';

/** An account of the protocol doors (AMQP, MQTT) and the management API. */
export interface UserAccount {
  username: string;
  password: string;
  /** Only from 127.0.0.0/8 and ::1 (RabbitMQ's default for guest). */
  loopbackOnly?: boolean;
  /** The virtual hosts it may use; absent: every one. */
  vhosts?: readonly string[];
}

/** Whether `user` may open `vhost`. */
export function mayUseVhost(user: UserAccount, vhost: string): boolean {
  return user.vhosts === undefined || user.vhosts.includes(vhost);
}

/** 127.0.0.0/8 (also IPv4-mapped, `::ffff:127.…`) and ::1. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}
