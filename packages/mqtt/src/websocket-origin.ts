/**
 * Who may open MQTT over WebSocket from a browser. Browsers send `Origin` with every WebSocket
 * handshake and let any page open one, so without this check a page of any site, opened on the
 * broker's machine, could log in as guest (loopback) and subscribe to `#`.
 */
import { isIP } from 'node:net';

function hostnameOf(host: string): string | undefined {
  try {
    return new URL(`http://${host}`).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * `origin` is the handshake's Origin header ('' or undefined when absent), `host` its Host header.
 * Same-host origins count only for IP addresses and localhost: a rebinding attacker's page names
 * its own domain in both headers.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (origin === undefined || origin === '') return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  let originHost: string;
  try {
    originHost = new URL(origin).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return false;
  }
  const requestHost = host === undefined ? undefined : hostnameOf(host);
  if (requestHost === undefined || originHost !== requestHost) return false;
  return isIP(requestHost) !== 0 || requestHost === 'localhost';
}
