/**
 * AMQP topic matching as a trie over the words of binding keys, so the cost of a match depends on
 * the routing key and the bindings that match, not on how many bindings there are.
 *
 * Words are separated by `.`; in a binding key `*` matches exactly one word and `#` zero or more.
 * As in RabbitMQ, the empty key has no words (so only `""` and `#`-only keys match it) and `a..b`
 * has an empty middle word.
 */

/** `""` → [], otherwise the `.`-separated words (empty words kept). */
export function splitTopicKey(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

/** Binding-key words with runs of `#` collapsed (`#.#` ≡ `#`), the form the trie stores. */
function patternWords(bindingKey: string): string[] {
  const words: string[] = [];
  for (const word of splitTopicKey(bindingKey)) {
    if (word === '#' && words[words.length - 1] === '#') continue;
    words.push(word);
  }
  return words;
}

class TrieNode<T> {
  // Most nodes have one literal child (topic trees are mostly chains): keep it inline and
  // allocate a Map only for the second, which saves memory and a pointer hop per word.
  onlyWord: string | undefined;
  onlyChild: TrieNode<T> | undefined;
  literal: Map<string, TrieNode<T>> | undefined;
  star: TrieNode<T> | undefined;
  hash: TrieNode<T> | undefined;
  values: Set<T> | undefined;
  /** `#` nodes only: visits[i] === epoch when this node was entered at word i during the current match. */
  visits: number[] | undefined;

  isEmpty(): boolean {
    return !this.values?.size && !this.onlyChild && !this.literal?.size && !this.star && !this.hash;
  }

  literalChild(word: string): TrieNode<T> | undefined {
    return this.onlyWord === word ? this.onlyChild : this.literal?.get(word);
  }

  child(word: string): TrieNode<T> | undefined {
    if (word === '*') return this.star;
    if (word === '#') return this.hash;
    return this.literalChild(word);
  }

  addChild(word: string): TrieNode<T> {
    const node = new TrieNode<T>();
    if (word === '*') this.star = node;
    else if (word === '#') this.hash = node;
    else if (!this.onlyChild && !this.literal) {
      this.onlyWord = word;
      this.onlyChild = node;
    } else {
      if (!this.literal) {
        this.literal = new Map([[this.onlyWord as string, this.onlyChild as TrieNode<T>]]);
        this.onlyWord = undefined;
        this.onlyChild = undefined;
      }
      this.literal.set(word, node);
    }
    return node;
  }

  removeChild(word: string): void {
    if (word === '*') this.star = undefined;
    else if (word === '#') this.hash = undefined;
    else if (this.onlyWord === word) {
      this.onlyWord = undefined;
      this.onlyChild = undefined;
    } else this.literal?.delete(word);
  }
}

export class TopicTrie<T> {
  private readonly root = new TrieNode<T>();
  private epoch = 0;
  private count = 0;

  /** Number of (binding key, value) pairs held. */
  get size(): number {
    return this.count;
  }

  /** Adds `value` under `bindingKey`; false if that pair was already there. */
  add(bindingKey: string, value: T): boolean {
    let node = this.root;
    for (const word of patternWords(bindingKey)) node = node.child(word) ?? node.addChild(word);
    node.values ??= new Set();
    if (node.values.has(value)) return false;
    node.values.add(value);
    this.count++;
    return true;
  }

  /** Removes the pair and prunes nodes left empty; false if it was not there. */
  remove(bindingKey: string, value: T): boolean {
    const words = patternWords(bindingKey);
    const path: TrieNode<T>[] = [this.root];
    for (const word of words) {
      const next = path[path.length - 1]?.child(word);
      if (!next) return false;
      path.push(next);
    }
    const leaf = path[path.length - 1] as TrieNode<T>;
    if (!leaf.values?.delete(value)) return false;
    this.count--;
    for (let i = words.length; i > 0 && (path[i] as TrieNode<T>).isEmpty(); i--) {
      (path[i - 1] as TrieNode<T>).removeChild(words[i - 1] as string);
    }
    return true;
  }

  /** Calls `emit` for every value whose binding key matches the routing key's words (a value may repeat). */
  match(words: readonly string[], emit: (value: T) => void): void {
    // The epoch stamps `#` visits so each (# node, word index) is explored once per match: patterns
    // like `#.a.#.a.#` stay polynomial instead of exploding on long keys.
    this.epoch++;
    this.visit(this.root, words, 0, emit);
  }

  private visit(node: TrieNode<T>, words: readonly string[], i: number, emit: (value: T) => void): void {
    if (i === words.length && node.values) for (const value of node.values) emit(value);
    if (node.hash) this.visitHash(node.hash, words, i, emit);
    if (i < words.length) {
      if (node.star) this.visit(node.star, words, i + 1, emit);
      const next = node.literalChild(words[i] as string);
      if (next) this.visit(next, words, i + 1, emit);
    }
  }

  /** A `#` node entered at word i may swallow words i..j-1 for every j ≥ i. */
  private visitHash(hash: TrieNode<T>, words: readonly string[], i: number, emit: (value: T) => void): void {
    const visits = (hash.visits ??= []);
    for (let j = i; j <= words.length; j++) {
      // A visit at j already explored j..end: stop there.
      if (visits[j] === this.epoch) return;
      visits[j] = this.epoch;
      this.visit(hash, words, j, emit);
    }
  }
}
