/**
 * What every TLS listener of every door shares: Node's secure-context options (TLS 1.2 and 1.3
 * only, Node's default ciphers) and how a verified client certificate names its user.
 */
import type { SecureContextOptions, TLSSocket } from 'node:tls';

/** Where the user name of a client certificate comes from: its subject CN, or its first SAN. */
export type CertificateIdentity = 'cn' | 'san';

export interface TlsListenerOptions {
  /** Certificate, key and (for client verification) CA, as Node's tls module takes them. */
  context: SecureContextOptions;
  /** A client certificate is asked for and must verify against `context.ca` (mutual TLS). */
  verifyClient?: boolean;
  /** Default `cn`. */
  identityFrom?: CertificateIdentity;
}

/** Options for tls.createServer / https.createServer: TLS 1.2+, and client verification when asked. */
export function tlsServerOptions(options: TlsListenerOptions): SecureContextOptions & {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  const verify = options.verifyClient === true;
  return {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ...options.context,
    requestCert: verify,
    rejectUnauthorized: verify,
  };
}

/**
 * The user name of a connection's verified client certificate (CN, or the first DNS, email or
 * URI subject alternative name); undefined on a plain socket or without a verified certificate.
 */
export function certificateIdentity(socket: unknown, from: CertificateIdentity = 'cn'): string | undefined {
  const tls = socket as Partial<TLSSocket>;
  if (typeof tls.getPeerCertificate !== 'function' || tls.authorized !== true) return undefined;
  const cert = tls.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  if (from === 'san') {
    const first = cert.subjectaltname
      ?.split(',')
      .map((entry) => entry.trim())
      .find((entry) => /^(DNS|email|URI):/.test(entry));
    return first?.slice(first.indexOf(':') + 1);
  }
  const cn = cert.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

/** What tls.Server and https.Server share: a secure context that can be replaced. */
export interface ReloadableTlsServer {
  setSecureContext(options: SecureContextOptions): void;
}

/**
 * A door's TLS servers and the options each was made with, so new certificates (SIGHUP) reach all
 * of them; open connections keep the context they were made with.
 */
export class TlsServers {
  readonly #entries: { server: ReloadableTlsServer; options: TlsListenerOptions }[] = [];

  add<S extends ReloadableTlsServer>(server: S, options: TlsListenerOptions): S {
    this.#entries.push({ server, options });
    return server;
  }

  setSecureContext(context: SecureContextOptions): void {
    for (const entry of this.#entries) {
      entry.options = { ...entry.options, context };
      entry.server.setSecureContext(tlsServerOptions(entry.options));
    }
  }
}
