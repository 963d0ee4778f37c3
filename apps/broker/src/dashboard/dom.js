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
 * An inline SVG sparkline of the last values (oldest first), scaled to its own maximum.
 * @param {SVGSVGElement | undefined} svg reuse an existing chart, or undefined for a new one
 * @param {number[]} values @param {string} label what the line shows, for screen readers
 */
export function sparkline(svg, values, label) {
  const width = 120;
  const height = 28;
  if (!svg) {
    svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.setAttribute('class', 'spark');
    svg.setAttribute('role', 'img');
    const area = document.createElementNS(SVG_NS, 'path');
    area.setAttribute('class', 'spark-area');
    const line = document.createElementNS(SVG_NS, 'polyline');
    line.setAttribute('class', 'spark-line');
    svg.append(area, line);
  }
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((v, i) => [i * step, height - 2 - (v / max) * (height - 4)]);
  if (points.length === 1) points.unshift([0, points[0][1]]);
  const coords = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  svg.querySelector('.spark-line').setAttribute('points', coords);
  svg
    .querySelector('.spark-area')
    .setAttribute('d', points.length ? `M0,${height} L${coords} L${width},${height} Z` : '');
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
