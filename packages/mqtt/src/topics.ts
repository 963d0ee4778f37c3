/**
 * MQTT topics ↔ engine routing keys, the RabbitMQ MQTT plugin's way: `/` and `.` swap places,
 * `+` becomes `*`, `#` stays `#`.
 */
export { mqttTopicMatches } from './topic-filter.js';

export const TOPIC_EXCHANGE = 'amq.topic';

const SEPARATORS = /[./]/g;
const SWAP_CACHE_SIZE = 10_000;
/** Topics repeat: the swapped form is cached (the same map serves both directions). */
const swapped = new Map<string, string>();

function swap(s: string): string {
  let out = swapped.get(s);
  if (out !== undefined) return out;
  out = s.replace(SEPARATORS, (ch) => (ch === '/' ? '.' : '/'));
  if (swapped.size >= SWAP_CACHE_SIZE) swapped.clear();
  swapped.set(s, out);
  return out;
}

export function topicToRoutingKey(topic: string): string {
  return swap(topic);
}

export function routingKeyToTopic(key: string): string {
  return swap(key);
}

export function filterToBindingKey(filter: string): string {
  return swap(filter)
    .split('.')
    .map((w) => (w === '+' ? '*' : w))
    .join('.');
}

/** A topic name a client may publish to: no wildcards, not empty, no NUL [MQTT-3.3.2-2]. */
export function isValidTopicName(topic: string): boolean {
  return topic.length > 0 && !topic.includes('+') && !topic.includes('#') && !topic.includes('\u0000');
}

/** A well-formed filter: `#` only last and alone in its level, `+` alone in its level [MQTT-4.7.1]. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false;
    if (level.includes('+') && level !== '+') return false;
  }
  return true;
}

export interface ParsedFilter {
  /** The filter that matches topics (without `$share/group/`). */
  filter: string;
  /** The share group of a `$share/group/filter` subscription. */
  group?: string;
}

/** Splits `$share/group/filter`; undefined when the shared form is malformed [MQTT-4.8.2]. */
export function parseFilter(raw: string): ParsedFilter | undefined {
  if (!raw.startsWith('$share/')) return isValidFilter(raw) ? { filter: raw } : undefined;
  const rest = raw.slice('$share/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const group = rest.slice(0, slash);
  const filter = rest.slice(slash + 1);
  if (/[+#]/.test(group) || !isValidFilter(filter)) return undefined;
  return { filter, group };
}
