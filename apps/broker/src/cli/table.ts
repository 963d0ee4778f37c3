/** A plain text table: a header row, then rows, columns padded; numbers right-aligned. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells: readonly (string | number)[]): string =>
    cells
      .map((cell, i) => {
        const text = String(cell ?? '');
        return typeof cell === 'number' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** One line for a payload in a table: the text (shortened), or its size when it is binary. */
export function shortPayload(payload: string, encoding: string, bytes: number, width = 60): string {
  if (encoding === 'base64') return `<${bytes} bytes, binary>`;
  const flat = payload.replace(/\s+/g, ' ');
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

export function rate(n: number): string {
  return n === 0 ? '0' : n < 10 ? n.toFixed(1) : n.toFixed(0);
}
