export { RoutingTable } from './routing-table.js';
export { EXCHANGE_KINDS } from './types.js';
export { TopicTrie, splitTopicKey } from './topic-trie.js';
export { headerValuesEqual } from './header-values.js';
export type { XMatch } from './headers-match.js';
export type {
  Binding,
  BindingDestination,
  DeclareExchangeFlags,
  DeclareExchangeResult,
  DeleteExchangeFlags,
  ExchangeInfo,
  ExchangeKind,
  ExchangeOptions,
  ResolvedExchangeOptions,
  RouteOptions,
  RouteResult,
  RoutingTableDeps,
  TopologyChanges,
} from './types.js';
