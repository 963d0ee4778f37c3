import type { AddressInfo, Server as NetServer } from 'node:net';

/** `server.listen` as a promise of the address bound (a port in use rejects). */
export function listenOn(server: NetServer, port: number, host: string | undefined): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
