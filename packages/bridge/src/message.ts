import type { MessageProperties } from '@conveyor/core';

/**
 * A message on its way through a bridge, in the core's property model (AMQP 0-9-1 names).
 * `subject` is where the source had it, as words: an AMQP/Conveyor routing key split on `.`,
 * an MQTT topic split on `/`; the sink joins them with its own separator (`a/b` ↔ `a.b`).
 */
export interface BridgeMessage {
  body: Uint8Array;
  properties: MessageProperties;
  subject: readonly string[];
}

/** Rewrites a subject's leading words, e.g. `{ from: ['sensors'], to: ['legacy', 'sensors'] }`. */
export interface SubjectRewrite {
  from: readonly string[];
  to: readonly string[];
}

/** The first rewrite whose `from` is a prefix of the subject applies; none: the subject is kept. */
export function rewriteSubject(subject: readonly string[], rewrites: readonly SubjectRewrite[]): string[] {
  for (const { from, to } of rewrites) {
    if (from.length <= subject.length && from.every((word, i) => subject[i] === word)) {
      return [...to, ...subject.slice(from.length)];
    }
  }
  return [...subject];
}

/** `a.b.c` → `['a','b','c']`; the empty key is no words. */
export function routingKeyWords(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

/** `a/b/c` → `['a','b','c']`. */
export function topicWords(topic: string): string[] {
  return topic.split('/');
}
