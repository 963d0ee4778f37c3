// Tiny DOM helpers. Everything from the broker goes in as text, never as HTML.
/* global document */

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Creates an element: `h('td', { class: 'num' }, '12')`. Attributes starting with `on` are listeners.
 * @param {string} tag @param {Record<string, unknown>} [attrs] @param {...(Node|string|number|null|undefined|false)} children
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    el.append(typeof child === 'object' ? child : String(child));
  }
  return el;
}

export function $(selector) {
  const el = document.querySelector(selector);
  if (!el) throw new Error(`dashboard: ${selector} is missing from index.html`);
  return el;
}

/** Puts `rows` in this order, moving only those out of place: a moved node loses keyboard focus. */
export function placeRows(body, rows) {
  rows.forEach((row, i) => {
    const current = body.children[i];
    if (current !== row) body.insertBefore(row, current ?? null);
  });
}

/** Sets text only when it changed, so screen readers and selections are not disturbed every second. */
export function setText(el, text) {
  const value = String(text);
  if (el.textContent !== value) el.textContent = value;
}

/**
 * An inline SVG sparkline of the last values (oldest first, one per poll), scaled to its own maximum.
 * Time runs on a fixed axis of `slots` samples ending at the right edge, so a new queue's line
 * grows from the right instead of being stretched over the whole width.
 * @param {SVGSVGElement | undefined} svg reuse an existing chart, or undefined for a new one
 * @param {number[]} values @param {string} label what the line shows, for screen readers
 * @param {number} slots samples the width stands for
 */
export function sparkline(svg, values, label, slots) {
  const width = 120;
  const height = 28;
  if (!svg) {
    svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.setAttribute('class', 'spark');
    svg.setAttribute('role', 'img');
    const area = document.createElementNS(SVG_NS, 'path');
    area.setAttribute('class', 'spark-area');
    const base = document.createElementNS(SVG_NS, 'line');
    base.setAttribute('class', 'spark-base');
    for (const [k, v] of Object.entries({ x1: 0, x2: width, y1: height - 1, y2: height - 1 }))
      base.setAttribute(k, v);
    const line = document.createElementNS(SVG_NS, 'polyline');
    line.setAttribute('class', 'spark-line');
    const dot = document.createElementNS(SVG_NS, 'circle');
    dot.setAttribute('class', 'spark-dot');
    dot.setAttribute('r', '2');
    svg.append(base, area, line, dot);
  }
  const max = Math.max(1, ...values);
  const step = width / Math.max(1, slots - 1);
  const y = (v) => height - 2 - (v / max) * (height - 4);
  const points = values.map((v, i) => [width - (values.length - 1 - i) * step, y(v)]);
  const coords = points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
  const left = points.length ? points[0][0].toFixed(1) : width;
  svg.querySelector('.spark-line').setAttribute('points', coords);
  svg
    .querySelector('.spark-area')
    .setAttribute('d', points.length ? `M${left},${height} L${coords} L${width},${height} Z` : '');
  const last = points.at(-1);
  const dot = svg.querySelector('.spark-dot');
  dot.setAttribute('cx', last ? String(last[0] - 2) : '-10');
  dot.setAttribute('cy', last ? last[1].toFixed(1) : '-10');
  svg.setAttribute('aria-label', `${label}: now ${values.at(-1) ?? 0}, peak ${Math.max(0, ...values)}`);
  return svg;
}

/** 1234567 → "1.2M"; small numbers stay exact. */
export function compact(n) {
  if (!Number.isFinite(n)) return '–';
  if (Math.abs(n) < 10_000) return Number.isInteger(n) ? String(n) : n.toFixed(1);
  return new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}

export function bytes(n) {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function duration(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr}h ${m % 60}m`;
  return `${Math.floor(hr / 24)}d ${hr % 24}h`;
}

/** A time from the API (ISO string or epoch milliseconds) → Date, or undefined. */
export function toDate(value) {
  if (value === undefined || value === null || value === '') return undefined;
  const date = new Date(typeof value === 'object' && 'value' in value ? value.value : value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function timeText(value) {
  const date = toDate(value);
  return date ? date.toLocaleString() : '–';
}
