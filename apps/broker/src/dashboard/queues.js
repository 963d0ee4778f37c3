// The queue table: one row per queue, updated in place each poll so buttons and focus stay put.
import { api, queuePath } from './api.js';
import { $, compact, h, placeRows, setText, sparkline } from './dom.js';
import { Rate, Series, rateOf } from './history.js';

export function queueKey(queue) {
  return `${queue.vhost}\u0000${queue.name}`;
}

export function queueLabel(queue) {
  return queue.vhost === '/' ? queue.name : `${queue.name} (${queue.vhost})`;
}

export function depthOf(queue) {
  return (queue.ready ?? 0) + (queue.inFlight ?? 0) + (queue.delayed ?? 0);
}

export class QueueTable {
  /** @type {Map<string, { row: HTMLTableRowElement, cells: Record<string, HTMLElement>, depth: Series, inRate: Series, inR: Rate, outR: Rate, depthChart?: SVGSVGElement, rateChart?: SVGSVGElement }>} */
  #rows = new Map();

  /**
   * @param {{ confirm: (title: string, text: string, action: string) => Promise<boolean>, notify: (text: string) => void, failed: (err: unknown) => void, refresh: () => void }} ui
   */
  constructor(ui) {
    this.ui = ui;
    this.body = $('#queues tbody');
    this.empty = $('[data-empty-for="queues"]');
  }

  /** @param {any[]} queues @param {number} now @param {number} slots polls the charts' width stands for */
  update(queues, now, slots) {
    const seen = new Set();
    const order = [];
    for (const queue of [...queues].sort((a, b) => queueLabel(a).localeCompare(queueLabel(b)))) {
      const key = queueKey(queue);
      seen.add(key);
      const entry = this.#rows.get(key) ?? this.#addRow(queue, key);
      order.push(entry.row);
      const inPerSecond = rateOf(queue.rates, 'published', entry.inR, queue.published, now);
      const outPerSecond = rateOf(queue.rates, 'delivered', entry.outR, queue.delivered, now);
      entry.depth.push(depthOf(queue));
      entry.inRate.push(Math.round(inPerSecond * 10) / 10);
      setText(entry.cells.ready, compact(queue.ready ?? 0));
      setText(entry.cells.inFlight, compact(queue.inFlight ?? 0));
      setText(entry.cells.delayed, compact(queue.delayed ?? 0));
      setText(entry.cells.inPerSecond, compact(inPerSecond));
      setText(entry.cells.outPerSecond, compact(outPerSecond));
      setText(entry.cells.consumers, compact(queue.consumers ?? 0));
      entry.depthChart = sparkline(entry.depthChart, entry.depth.values, `Depth of ${queue.name}`, slots);
      entry.rateChart = sparkline(
        entry.rateChart,
        entry.inRate.values,
        `Messages in per second to ${queue.name}`,
        slots,
      );
      if (!entry.cells.depthChart.firstChild) entry.cells.depthChart.append(entry.depthChart);
      if (!entry.cells.rateChart.firstChild) entry.cells.rateChart.append(entry.rateChart);
    }
    for (const [key, entry] of this.#rows) {
      if (seen.has(key)) continue;
      entry.row.remove();
      this.#rows.delete(key);
    }
    placeRows(this.body, order);
    this.empty.hidden = this.#rows.size > 0;
  }

  #addRow(queue, key) {
    const cell = (field, cls = 'num') => h('td', { class: cls, 'data-field': field });
    const cells = {
      ready: cell('ready'),
      inFlight: cell('inFlight'),
      delayed: cell('delayed'),
      depthChart: cell('depthChart', 'chart'),
      inPerSecond: cell('inPerSecond'),
      outPerSecond: cell('outPerSecond'),
      rateChart: cell('rateChart', 'chart'),
      consumers: cell('consumers'),
    };
    const purge = h(
      'button',
      { type: 'button', class: 'small danger-outline', onclick: () => this.#purge(queue) },
      'Purge',
    );
    purge.setAttribute('aria-label', `Purge ${queueLabel(queue)}`);
    const row = h(
      'tr',
      { 'data-queue': queue.name, 'data-vhost': queue.vhost },
      h('th', { scope: 'row' }, h('span', { class: 'qname' }, queueLabel(queue)), badges(queue)),
      cells.ready,
      cells.inFlight,
      cells.delayed,
      cells.depthChart,
      cells.inPerSecond,
      cells.outPerSecond,
      cells.rateChart,
      cells.consumers,
      h('td', { class: 'row-actions' }, purge),
    );
    const entry = {
      row,
      cells,
      depth: new Series(),
      inRate: new Series(),
      inR: new Rate(),
      outR: new Rate(),
    };
    this.#rows.set(key, entry);
    return entry;
  }

  async #purge(queue) {
    const label = queueLabel(queue);
    const ok = await this.ui.confirm(
      `Purge ${label}?`,
      `Every ready message in ${label} will be deleted. This cannot be undone.`,
      'Purge',
    );
    if (!ok) return;
    try {
      const result = await api(`${queuePath(queue.vhost, queue.name)}/contents`, { method: 'DELETE' });
      const purged = typeof result?.purged === 'number' ? ` (${result.purged} messages)` : '';
      this.ui.notify(`Purged ${label}${purged}.`);
      this.ui.refresh();
    } catch (err) {
      this.ui.failed(err);
    }
  }
}

function badges(queue) {
  const options = queue.options ?? {};
  const tags = [];
  if (options.durable === false) tags.push(['transient']);
  if (options.exclusive) tags.push(['exclusive']);
  if (options.autoDelete) tags.push(['auto-delete']);
  if (options.messageTtlMs) tags.push(['TTL', `messages expire after ${options.messageTtlMs} ms`]);
  if (options.maxDeliveries) tags.push([`≤${options.maxDeliveries}×`, 'delivered at most this many times']);
  const dlx = options.deadLetter;
  if (dlx) {
    const via = dlx.exchange === '' ? 'the default exchange' : `exchange ${dlx.exchange}`;
    tags.push(['DLX', `dead letters go to ${via}${dlx.routingKey ? ` with key ${dlx.routingKey}` : ''}`]);
  }
  if (!tags.length) return null;
  return h(
    'span',
    { class: 'tags' },
    ...tags.map(([text, title]) => h('span', { class: 'tag', title }, text)),
  );
}
