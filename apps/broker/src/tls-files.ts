// The broker's certificate files: read and checked at start (one clear line and exit 2 when one
// is unreadable, expired or does not match its key), read again on SIGHUP.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TlsListenerOptions } from '@conveyor/core';
import type { TlsConfig } from './config.js';
import { StartError } from './errors.js';

function invalid(message: string, cause?: unknown): StartError {
  return new StartError('TLS_INVALID', `tls: ${message}`, cause === undefined ? {} : { cause });
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalid(
      `cannot read the ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : String(err)}`,
      err,
    );
  }
}

/** The first certificate of a PEM file (the server's own, before any chain). */
function certificate(pem: Buffer, path: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw invalid(`${path} is not a PEM certificate`, err);
  }
}

/** Reads and checks the files; `now` for tests of expiry. */
export function loadTls(config: TlsConfig, now = new Date()): TlsListenerOptions {
  const cert = read(config.certFile, 'certificate');
  const key = read(config.keyFile, 'private key');
  const x509 = certificate(cert, config.certFile);
  if (new Date(x509.validTo) < now)
    throw invalid(`the certificate ${config.certFile} expired on ${x509.validTo}`);
  if (new Date(x509.validFrom) > now)
    throw invalid(`the certificate ${config.certFile} is not valid before ${x509.validFrom}`);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw invalid(`${config.keyFile} is not a PEM private key (or it is encrypted)`, err);
  }
  if (!x509.checkPrivateKey(privateKey))
    throw invalid(`the private key ${config.keyFile} does not belong to the certificate ${config.certFile}`);
  const ca = config.caFile === undefined ? undefined : read(config.caFile, 'CA certificate');
  if (ca !== undefined) certificate(ca, config.caFile!);
  if (config.verifyClient && ca === undefined)
    throw invalid('tls.verifyClient needs a CA to verify client certificates against (--tls-ca FILE)');
  return {
    context: { cert, key, ...(ca === undefined ? {} : { ca }) },
    verifyClient: config.verifyClient,
    identityFrom: config.identityFrom,
  };
}
