// Dead-letter queues: which queues they are, a peek panel with each message's death, and redrive.
import { api, queuePath } from './api.js';
import { $, compact, h, placeRows, setText, timeText } from './dom.js';
import { queueKey, queueLabel } from './queues.js';

const PEEK_COUNT = 50;
const NAME_HINT = /(^|[^a-z])(dlq|dlx|dead)/i;

/**
 * The dead-letter queues among `queues`, each with the queues that dead-letter into it. A queue
 * counts when another queue's `options.deadLetter` reaches it: through the default exchange by
 * name, or through a named exchange it is bound to (such an exchange exists to feed dead-letter
 * queues, so every queue bound to it counts). Also when a peek found `x-death` on its messages,
 * or, failing all that, when its name says so.
 * @param {any[]} queues @param {any[]} bindings @param {Set<string>} knownDeadLetterKeys
 */
export function deadLetterQueues(queues, bindings, knownDeadLetterKeys) {
  const byKey = new Map(queues.map((q) => [queueKey(q), { queue: q, sources: [] }]));
  for (const q of queues) {
    const target = q.options?.deadLetter;
    if (!target) continue;
    const names =
      target.exchange === ''
        ? [target.routingKey ?? '']
        : bindings
            .filter(
              (b) => b.vhost === q.vhost && b.source === target.exchange && b.destinationKind === 'queue',
            )
            .map((b) => b.destination);
    for (const name of new Set(names)) {
      const found = byKey.get(queueKey({ vhost: q.vhost, name }));
      if (found && found.queue !== q) found.sources.push(q.name);
    }
  }
  return [...byKey.entries()]
    .filter(
      ([key, d]) => d.sources.length > 0 || knownDeadLetterKeys.has(key) || NAME_HINT.test(d.queue.name),
    )
    .map(([, d]) => d)
    .sort((a, b) => queueLabel(a.queue).localeCompare(queueLabel(b.queue)));
}

/** Unwraps a header value the API may send as `{ type, value }`. */
function plain(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && 'value' in value
    ? value.value
    : value;
}

/** Why and where a peeked message died, from RabbitMQ-style headers (the newest `x-death` entry first). */
export function deathOf(message) {
  const headers = message.properties?.headers ?? {};
  const history = plain(headers['x-death']);
  const latest = Array.isArray(history) ? plain(history[0]) : undefined;
  const field = (name) => (latest && typeof latest === 'object' ? plain(latest[name]) : undefined);
  const reason =
    plain(headers['x-last-death-reason']) ?? field('reason') ?? plain(headers['x-first-death-reason']);
  if (reason === undefined) return undefined;
  return {
    reason: String(reason),
    queue: String(
      plain(headers['x-last-death-queue']) ?? field('queue') ?? plain(headers['x-first-death-queue']) ?? '–',
    ),
    count: field('count') ?? 1,
    time: field('time'),
    detail: field('detail'),
  };
}

function payloadText(message) {
  const payload = message.payload ?? '';
  const text = message.payloadEncoding === 'base64' ? `base64: ${payload}` : String(payload);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

export class DeadLetterPanel {
  /** @type {Map<string, { row: HTMLTableRowElement, count: HTMLElement, sources: HTMLElement }>} */
  #rows = new Map();
  /** Queues where a peek found dead-lettered messages. */
  #known = new Set();
  /** The queue whose messages the panel shows. */
  #peeked;

  /** @param {{ notify: (text: string) => void, failed: (err: unknown) => void, refresh: () => void }} ui */
  constructor(ui) {
    this.ui = ui;
    this.body = $('#dlqs tbody');
    this.empty = $('[data-empty-for="dlqs"]');
    this.panel = $('#peek');
  }

  /** @param {any[]} queues @param {any[]} bindings */
  update(queues, bindings) {
    const seen = new Set();
    const order = [];
    for (const { queue, sources } of deadLetterQueues(queues, bindings, this.#known)) {
      const key = queueKey(queue);
      seen.add(key);
      const entry = this.#rows.get(key) ?? this.#addRow(queue, key);
      order.push(entry.row);
      setText(entry.count, compact((queue.ready ?? 0) + (queue.inFlight ?? 0) + (queue.delayed ?? 0)));
      setText(entry.sources, sources.length ? sources.join(', ') : '–');
      entry.redrive.disabled = (queue.ready ?? 0) === 0;
    }
    for (const [key, entry] of this.#rows) {
      if (seen.has(key)) continue;
      entry.row.remove();
      this.#rows.delete(key);
      if (this.#peeked && queueKey(this.#peeked) === key) this.#closePeek();
    }
    placeRows(this.body, order);
    this.empty.hidden = this.#rows.size > 0;
  }

  #addRow(queue, key) {
    const label = queueLabel(queue);
    const count = h('td', { class: 'num', 'data-field': 'messages' });
    const sources = h('td', { 'data-field': 'sources' });
    const peek = h('button', { type: 'button', class: 'small', onclick: () => this.peek(queue) }, 'Peek');
    peek.setAttribute('aria-label', `Peek ${label}`);
    const redrive = h(
      'button',
      { type: 'button', class: 'small', onclick: () => this.redrive(queue) },
      'Redrive',
    );
    redrive.setAttribute('aria-label', `Redrive ${label}`);
    const row = h(
      'tr',
      { 'data-queue': queue.name, 'data-vhost': queue.vhost },
      h('th', { scope: 'row' }, label),
      count,
      sources,
      h('td', { class: 'row-actions' }, peek, redrive),
    );
    const entry = { row, count, sources, redrive };
    this.#rows.set(key, entry);
    return entry;
  }

  async peek(queue) {
    this.#peeked = queue;
    try {
      const messages = await api(`${queuePath(queue.vhost, queue.name)}/peek`, {
        method: 'POST',
        body: { count: PEEK_COUNT, includeInFlight: true, includeDelayed: true },
      });
      if (messages.some((m) => deathOf(m))) this.#known.add(queueKey(queue));
      this.#renderPeek(queue, messages);
    } catch (err) {
      this.ui.failed(err);
    }
  }

  async redrive(queue) {
    const label = queueLabel(queue);
    try {
      const result = await api(`${queuePath(queue.vhost, queue.name)}/redrive`, { method: 'POST', body: {} });
      const moved = result?.moved ?? 0;
      this.ui.notify(`Redrove ${moved} message${moved === 1 ? '' : 's'} from ${label} to where they died.`);
      this.ui.refresh();
      if (this.#peeked && queueKey(this.#peeked) === queueKey(queue)) await this.peek(queue);
    } catch (err) {
      this.ui.failed(err);
    }
  }

  #closePeek() {
    this.#peeked = undefined;
    this.panel.hidden = true;
    this.panel.replaceChildren();
  }

  #renderPeek(queue, messages) {
    const label = queueLabel(queue);
    const header = h(
      'div',
      { class: 'peek-head' },
      h('h3', {}, `Messages in ${label}`, h('span', { class: 'muted' }, ` · first ${messages.length}`)),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'small', onclick: () => this.peek(queue) }, 'Refresh'),
        h('button', { type: 'button', class: 'small', onclick: () => this.redrive(queue) }, `Redrive all`),
        h('button', { type: 'button', class: 'small ghost', onclick: () => this.#closePeek() }, 'Close'),
      ),
    );
    const body = messages.length
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'peek-table', 'aria-label': `Messages in ${label}` },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Reason', 'Original queue', 'Deaths', 'Died at', 'State', 'Routing key', 'Payload'].map(
                  (t) => h('th', { scope: 'col' }, t),
                ),
              ),
            ),
            h('tbody', {}, ...messages.map((m) => peekRow(m))),
          ),
        )
      : h('p', { class: 'muted' }, `${label} is empty.`);
    this.panel.replaceChildren(header, body);
    this.panel.hidden = false;
  }
}

function peekRow(message) {
  const death = deathOf(message);
  return h(
    'tr',
    { 'data-message-id': message.id },
    h(
      'td',
      { 'data-field': 'reason' },
      death
        ? h('span', { class: `reason reason-${death.reason}` }, death.reason)
        : h('span', { class: 'muted' }, '–'),
      death?.detail ? h('div', { class: 'muted small' }, String(death.detail)) : null,
    ),
    h('td', { 'data-field': 'queue' }, death?.queue ?? '–'),
    h('td', { class: 'num', 'data-field': 'count' }, death ? String(death.count) : '–'),
    h('td', { 'data-field': 'time' }, timeText(death?.time)),
    h('td', {}, `${message.state ?? '–'}${message.deliveryCount ? ` · ${message.deliveryCount}×` : ''}`),
    h('td', { class: 'mono' }, message.routingKey ?? ''),
    h('td', { class: 'mono payload' }, payloadText(message)),
  );
}
