// Certificates made at test time with Debian's openssl (nothing that looks like a real key is ever
// committed): a CA, a server certificate for localhost / 127.0.0.1, client certificates, and one
// already expired.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertificateFiles {
  cert: string;
  key: string;
}

export interface TestCertificates {
  dir: string;
  ca: string;
  server: CertificateFiles;
  /** Signed by the CA for `CN=<name>`, with `email:<name>@clients.test` as its SAN. */
  client(name: string): CertificateFiles;
  /** Another server certificate for the same names (a reload must be told apart from the first). */
  renewedServer(): CertificateFiles;
  /** Expired the moment it was made (notAfter = now). */
  expiredServer(): CertificateFiles;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeTestCertificates(dir: string): TestCertificates {
  mkdirSync(dir, { recursive: true });
  openssl(
    [
      'req',
      '-x509',
      ...CURVE,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=Conveyor Test CA',
    ],
    dir,
  );
  let serial = 0;
  const sign = (name: string, subject: string, extensions: string, days: number): CertificateFiles => {
    const ext = join(dir, `${name}.ext`);
    writeFileSync(ext, extensions);
    openssl(['req', ...CURVE, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(++serial + 1000),
        '-days',
        String(days),
        '-extfile',
        ext,
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
    return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  };
  const serverExt = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    server: sign('server', '/CN=localhost', serverExt, 2),
    client: (name) =>
      sign(
        `client-${name}`,
        `/CN=${name}`,
        `subjectAltName=email:${name}@clients.test\nextendedKeyUsage=clientAuth\n`,
        2,
      ),
    renewedServer: () => sign(`server-renewed-${serial}`, '/CN=localhost', serverExt, 2),
    expiredServer: () => sign(`server-expired-${serial}`, '/CN=localhost', serverExt, 0),
  };
}
