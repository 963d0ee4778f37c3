/**
 * Users a definitions import added or changed, kept in the store's metadata so that they are
 * still there after a restart (the store is the broker's database, as Mnesia is RabbitMQ's).
 * At start they are laid over the configured users: an import is newer than the config file.
 */
import type { MessageStore, UserAccount } from '@conveyor/core';

const PREFIX = 'auth-user/';

export async function loadImportedUsers(store: MessageStore): Promise<UserAccount[]> {
  const entries = await store.loadMeta(PREFIX);
  return entries.map((e) => e.value as UserAccount);
}

export async function saveImportedUser(store: MessageStore, user: UserAccount): Promise<void> {
  await store.putMeta(PREFIX + encodeURIComponent(user.username), user);
}
