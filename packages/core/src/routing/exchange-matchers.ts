import type { Headers } from '../message.js';
import { compileHeadersPattern, headersMatch, type HeadersPattern } from './headers-match.js';
import { TopicTrie } from './topic-trie.js';
import type { Binding, ExchangeKind } from './types.js';

/** What a matcher needs from the message being routed; the topic words are split once per route. */
export interface MatchInput {
  readonly routingKey: string;
  readonly headers: Readonly<Headers>;
  topicWords(): readonly string[];
}

/** One exchange kind's index of its outgoing bindings. */
export interface ExchangeMatcher {
  add(binding: Binding): void;
  remove(binding: Binding): void;
  /** Calls `emit` for each binding that matches (a destination may repeat). */
  match(input: MatchInput, emit: (binding: Binding) => void): void;
}

class DirectMatcher implements ExchangeMatcher {
  private readonly byKey = new Map<string, Set<Binding>>();

  add(binding: Binding): void {
    let set = this.byKey.get(binding.routingKey);
    if (!set) this.byKey.set(binding.routingKey, (set = new Set()));
    set.add(binding);
  }

  remove(binding: Binding): void {
    const set = this.byKey.get(binding.routingKey);
    if (set?.delete(binding) && set.size === 0) this.byKey.delete(binding.routingKey);
  }

  match(input: MatchInput, emit: (binding: Binding) => void): void {
    const set = this.byKey.get(input.routingKey);
    if (set) for (const binding of set) emit(binding);
  }
}

class FanoutMatcher implements ExchangeMatcher {
  private readonly all = new Set<Binding>();

  add(binding: Binding): void {
    this.all.add(binding);
  }

  remove(binding: Binding): void {
    this.all.delete(binding);
  }

  match(_input: MatchInput, emit: (binding: Binding) => void): void {
    for (const binding of this.all) emit(binding);
  }
}

class TopicMatcher implements ExchangeMatcher {
  private readonly trie = new TopicTrie<Binding>();

  add(binding: Binding): void {
    this.trie.add(binding.routingKey, binding);
  }

  remove(binding: Binding): void {
    this.trie.remove(binding.routingKey, binding);
  }

  match(input: MatchInput, emit: (binding: Binding) => void): void {
    this.trie.match(input.topicWords(), emit);
  }
}

/** Linear in the exchange's bindings, as in RabbitMQ: header patterns do not index well. */
class HeadersMatcher implements ExchangeMatcher {
  private readonly patterns = new Map<Binding, HeadersPattern>();

  add(binding: Binding): void {
    this.patterns.set(binding, compileHeadersPattern(binding.arguments));
  }

  remove(binding: Binding): void {
    this.patterns.delete(binding);
  }

  match(input: MatchInput, emit: (binding: Binding) => void): void {
    for (const [binding, pattern] of this.patterns) if (headersMatch(pattern, input.headers)) emit(binding);
  }
}

export function createMatcher(kind: ExchangeKind): ExchangeMatcher {
  switch (kind) {
    case 'direct':
      return new DirectMatcher();
    case 'fanout':
      return new FanoutMatcher();
    case 'topic':
      return new TopicMatcher();
    case 'headers':
      return new HeadersMatcher();
  }
}
