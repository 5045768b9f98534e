/** Two small hand-drawn SVG charts (no plotting dependency needed for bars and lines). */

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

/** Grouped bars: one group per category, one bar per series. */
export function barChart(
  title: string,
  unit: string,
  categories: string[],
  series: { name: string; values: number[] }[],
): string {
  const width = 760;
  const height = 360;
  const left = 60;
  const bottom = 300;
  const top = 50;
  const max = Math.max(1, ...series.flatMap((s) => s.values.filter(Number.isFinite))) * 1.1;
  const groupWidth = (width - left - 20) / categories.length;
  const barWidth = (groupWidth * 0.7) / series.length;
  const y = (v: number) => bottom - ((bottom - top) * v) / max;
  const parts: string[] = [];
  for (let tick = 0; tick <= 4; tick++) {
    const value = (max / 4) * tick;
    parts.push(`<line x1="${left}" x2="${width - 20}" y1="${y(value)}" y2="${y(value)}" stroke="#e5e7eb"/>`);
    parts.push(
      `<text x="${left - 6}" y="${y(value) + 4}" text-anchor="end" font-size="11">${value.toFixed(value < 10 ? 1 : 0)}</text>`,
    );
  }
  categories.forEach((category, c) => {
    const x0 = left + c * groupWidth + groupWidth * 0.15;
    series.forEach((s, i) => {
      const value = s.values[c] ?? 0;
      const x = x0 + i * barWidth;
      parts.push(
        `<rect x="${x}" y="${y(value)}" width="${barWidth - 2}" height="${bottom - y(value)}" fill="${COLORS[i % COLORS.length]}"/>`,
      );
      parts.push(
        `<text x="${x + barWidth / 2}" y="${y(value) - 3}" text-anchor="middle" font-size="10">${value}</text>`,
      );
    });
    parts.push(
      `<text x="${x0 + (barWidth * series.length) / 2}" y="${bottom + 16}" text-anchor="middle" font-size="11">${escape(category)}</text>`,
    );
  });
  const legendStep = (width - left) / series.length;
  series.forEach((s, i) => {
    parts.push(
      `<rect x="${left + i * legendStep}" y="${height - 28}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`,
    );
    parts.push(
      `<text x="${left + i * legendStep + 16}" y="${height - 18}" font-size="12">${escape(s.name)}</text>`,
    );
  });
  return svg(width, height, title, unit, parts);
}

/** Lines of (x, y) points sharing axes. */
export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: { name: string; points: [number, number][] }[],
): string {
  const width = 760;
  const height = 380;
  const left = 70;
  const bottom = 310;
  const top = 50;
  const right = width - 20;
  const maxX = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[0])));
  const maxY = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const x = (v: number) => left + ((right - left) * v) / maxX;
  const y = (v: number) => bottom - ((bottom - top) * v) / maxY;
  const parts: string[] = [];
  for (let tick = 0; tick <= 5; tick++) {
    const yv = (maxY / 5) * tick;
    const xv = (maxX / 5) * tick;
    parts.push(`<line x1="${left}" x2="${right}" y1="${y(yv)}" y2="${y(yv)}" stroke="#e5e7eb"/>`);
    parts.push(
      `<text x="${left - 6}" y="${y(yv) + 4}" text-anchor="end" font-size="11">${Math.round(yv)}</text>`,
    );
    parts.push(
      `<text x="${x(xv)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${Math.round(xv)}</text>`,
    );
  }
  parts.push(
    `<text x="${(left + right) / 2}" y="${bottom + 34}" text-anchor="middle" font-size="12">${escape(xLabel)}</text>`,
  );
  parts.push(
    `<text x="16" y="${(top + bottom) / 2}" font-size="12" transform="rotate(-90 16 ${(top + bottom) / 2})" text-anchor="middle">${escape(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const path = s.points
      .map(([px, py], n) => `${n === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`)
      .join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    // Legend entries share the width, however many series there are.
    const step = Math.min(220, (right - left) / series.length);
    parts.push(`<rect x="${left + i * step}" y="${height - 24}" width="12" height="12" fill="${color}"/>`);
    parts.push(
      `<text x="${left + i * step + 16}" y="${height - 14}" font-size="12">${escape(s.name)}</text>`,
    );
  });
  return svg(width, height, title, '', parts);
}

function svg(width: number, height: number, title: string, unit: string, parts: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}${unit ? ` (${escape(unit)})` : ''}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
