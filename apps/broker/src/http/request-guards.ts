/**
 * Browser-facing defences of the management API: what a page on another origin could otherwise
 * make a logged-in browser do (cross-site form posts, DNS rebinding, framing).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { HttpError } from './http-errors.js';

/** Sent on every response: no framing (clickjacking), no MIME sniffing, no referrer to elsewhere. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A state-changing request must say `Content-Type: application/json`: a cross-site HTML form can
 * only send text/plain, urlencoded or multipart, and anything else needs a CORS preflight we never
 * grant. Bodiless requests (DELETE) too: a form cannot send DELETE, a script would need CORS.
 */
export function requireJsonForChanges(method: string, headers: IncomingHttpHeaders): void {
  if (SAFE_METHODS.has(method)) return;
  const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    throw new HttpError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `${method} requests must be sent with Content-Type: application/json`,
    );
}

/** The host part of a Host header (`[::1]:15672` → `::1`, `Example.com.` → `example.com`). */
export function hostName(host: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  const colon = host.lastIndexOf(':');
  const name = colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * DNS rebinding: a page of `evil.example` whose name now resolves to 127.0.0.1 reaches us with
 * `Host: evil.example`. Allowed: an IP address (a rebinding attack cannot make the browser send
 * one it did not name), `localhost` and its subdomains, and the configured names.
 */
export function checkHost(host: string | undefined, allowed: readonly string[]): void {
  if (host === undefined || host === '') throw new HttpError(400, 'BAD_REQUEST', 'a Host header is required');
  const name = hostName(host);
  if (isIP(name) !== 0) return;
  if (name === 'localhost' || name.endsWith('.localhost')) return;
  if (allowed.some((a) => a.toLowerCase() === name)) return;
  throw new HttpError(
    421,
    'MISDIRECTED_REQUEST',
    `host '${name}' is not one this broker serves (add it to http.allowedHosts)`,
  );
}
