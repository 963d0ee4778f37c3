// The overview strip (totals, rates, blocked state, connections) and the connections table.
import { $, bytes, compact, duration, h, setText, sparkline, timeText, toDate } from './dom.js';
import { Rate, Series } from './history.js';

const TILES = [
  ['ready', 'Ready'],
  ['inFlight', 'In flight'],
  ['delayed', 'Delayed'],
  ['publishRate', 'Published /s'],
  ['deliverRate', 'Delivered /s'],
  ['deadLettered', 'Dead-lettered'],
  ['connections', 'Connections'],
  ['status', 'Publishers'],
];

export class Overview {
  #tiles = new Map();
  #depth = new Series();
  #published = new Series();
  #publishRate = new Rate();
  #deliverRate = new Rate();
  #depthChart;
  #rateChart;

  constructor() {
    const list = $('#overview');
    for (const [key, label] of TILES) {
      const value = h('span', { class: 'value', 'data-field': key });
      const note = h('span', { class: 'note muted' });
      const tile = h('li', { class: `tile tile-${key}` }, h('span', { class: 'label' }, label), value, note);
      list.append(tile);
      this.#tiles.set(key, { tile, value, note });
    }
    this.meta = $('#broker-meta');
  }

  update(overview, now, slots) {
    const totals = overview.queueTotals ?? {};
    const stats = overview.messageStats ?? {};
    const connections = overview.connections ?? {};
    const depth = (totals.ready ?? 0) + (totals.inFlight ?? 0) + (totals.delayed ?? 0);
    const publishRate = this.#publishRate.update(stats.published ?? 0, now);
    const deliverRate = this.#deliverRate.update(stats.delivered ?? 0, now);
    this.#depth.push(depth);
    this.#published.push(Math.round(publishRate * 10) / 10);

    this.#set('ready', compact(totals.ready ?? 0), `${compact(depth)} in all queues`);
    this.#set('inFlight', compact(totals.inFlight ?? 0), 'awaiting ack');
    this.#set('delayed', compact(totals.delayed ?? 0), 'scheduled');
    this.#set('publishRate', compact(publishRate), `${compact(stats.published ?? 0)} since start`);
    this.#set('deliverRate', compact(deliverRate), `${compact(stats.acked ?? 0)} acked`);
    this.#set('deadLettered', compact(stats.deadLettered ?? 0), 'since start');
    const amqp = connections.amqp ?? 0;
    const mqtt = connections.mqtt ?? 0;
    this.#set('connections', compact(amqp + mqtt), `AMQP ${amqp} · MQTT ${mqtt}`);
    const blocked = Boolean(overview.blocked);
    this.#set('status', blocked ? 'Blocked' : 'Accepting', `memory ${bytes(overview.memoryBytes)}`);
    this.#tiles.get('status').tile.classList.toggle('alarm', blocked);

    this.#depthChart = sparkline(this.#depthChart, this.#depth.values, 'Messages in all queues', slots);
    this.#rateChart = sparkline(
      this.#rateChart,
      this.#published.values,
      'Messages published per second',
      slots,
    );
    attachOnce(this.#tiles.get('ready').tile, this.#depthChart);
    attachOnce(this.#tiles.get('publishRate').tile, this.#rateChart);

    const store = typeof overview.store === 'string' ? overview.store : (overview.store?.kind ?? 'unknown');
    setText(
      this.meta,
      `v${overview.version ?? '?'} · ${store} store · up ${duration(overview.uptimeMs ?? 0)}`,
    );
  }

  #set(key, value, note) {
    const tile = this.#tiles.get(key);
    setText(tile.value, value);
    setText(tile.note, note);
  }
}

function attachOnce(parent, child) {
  if (child.parentNode !== parent) parent.append(child);
}

function protocolLabel(c) {
  const name = String(c.protocol ?? '?').toUpperCase();
  return c.transport === 'websocket' ? `${name} / WS` : name;
}

export function renderConnections(connections, now) {
  const body = $('#connections tbody');
  const rows = [...connections]
    .sort((a, b) => (toDate(a.connectedAt)?.getTime() ?? 0) - (toDate(b.connectedAt)?.getTime() ?? 0))
    .map((c) => {
      const since = toDate(c.connectedAt);
      return h(
        'tr',
        { 'data-connection': c.id },
        h('td', {}, h('span', { class: `tag proto-${c.protocol}` }, protocolLabel(c))),
        h(
          'td',
          { class: 'mono' },
          c.clientId ? `${c.clientId} · ${c.remoteAddress ?? ''}` : (c.remoteAddress ?? '–'),
        ),
        h('td', {}, c.user ?? '–'),
        h('td', { class: 'mono' }, c.vhost ?? '–'),
        h('td', { class: 'num' }, c.channels === undefined ? '–' : String(c.channels)),
        h('td', { title: timeText(c.connectedAt) }, since ? `${duration(now - since.getTime())} ago` : '–'),
      );
    });
  body.replaceChildren(...rows);
  $('[data-empty-for="connections"]').hidden = rows.length > 0;
}
