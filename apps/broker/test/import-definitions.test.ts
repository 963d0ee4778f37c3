// importDefinitions in process (issue 16, item 6): what an import keeps in the store.
import { Authenticator, Broker, MemoryStore } from '@conveyor/core';
import { afterEach, describe, expect, it } from 'vitest';
import { loadImportedUsers } from '../src/definitions/imported-users.js';
import { importDefinitions } from '../src/definitions/import-definitions.js';

const open: Broker[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
});

describe('importDefinitions', () => {
  it('a grant to a configured user with a plain password keeps only a hash of it in the store', async () => {
    const broker = await Broker.open({ store: new MemoryStore() });
    open.push(broker);
    const authenticator = new Authenticator([
      {
        username: 'cfg',
        password: 'cfg-pw',
        permissions: { '/': { configure: '', write: '.*', read: '.*' } },
      },
    ]);
    const summary = await importDefinitions(
      { broker, authenticator },
      {
        vhosts: [{ name: 'shop' }],
        permissions: [{ user: 'cfg', vhost: 'shop', configure: '.*', write: '.*', read: '.*' }],
      },
    );
    expect(summary).toMatchObject({ vhosts: 1, users: 0 });
    const [stored] = await loadImportedUsers(broker.store);
    expect(stored).toMatchObject({ username: 'cfg', permissions: { '/': {}, shop: {} } });
    expect(stored?.password).toBeUndefined();
    expect(JSON.stringify(stored)).not.toContain('cfg-pw');
    // The hash is of the same password: the user still logs in, now to shop too.
    const login = authenticator.password('cfg', 'cfg-pw', { door: 'amqp', remoteAddress: '127.0.0.1' });
    expect(login.ok && login.principal.mayUseVhost('shop')).toBe(true);
  });

  it('a permission for a user neither in the document nor on the broker is refused, nothing applied', async () => {
    const broker = await Broker.open({ store: new MemoryStore() });
    open.push(broker);
    const authenticator = new Authenticator();
    await expect(
      importDefinitions(
        { broker, authenticator },
        {
          vhosts: [{ name: 'never' }],
          permissions: [{ user: 'ghost', vhost: 'never', configure: '.*', write: '.*', read: '.*' }],
        },
      ),
    ).rejects.toThrow(/permission for user 'ghost', who is neither in the document nor on this broker/);
    expect(broker.vhosts()).toEqual(['/']);
  });
});
