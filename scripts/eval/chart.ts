// models/accuracy.svg: lowbit's test accuracy per model as horizontal bars, grouped by
// architecture and ordered by precision, with the reference's accuracy as a tick on each bar.
// Plain SVG text, no dependencies. The axis starts at the 5 % step below the lowest value, and
// says so, so that differences of a point stay visible.

import type { EvalRow } from './measure-model.js';
import { modelName, orderRows, referenceOf } from './render.js';

const COLOURS: Record<string, string> = {
  fp32: '#6b7280', int8: '#2563eb', int4: '#0d9488', w2a8: '#d97706', w2a2: '#ea580c', w1a1: '#dc2626',
};
const OTHER = '#7c3aed';

const WIDTH = 760;
const LABEL = 190;
const PLOT = 470;
const ROW = 20;
const BAR = 12;
const TOP = 52;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

export function accuracyChart(rows: readonly EvalRow[]): string {
  const ordered = orderRows(rows);
  const values = ordered.flatMap((r) => [r.lowbit_accuracy, referenceOf(r)]).filter((x): x is number => x !== null);
  const lo = values.length ? Math.max(0, Math.floor(Math.min(...values) * 20) / 20) : 0;
  const hi = values.length ? Math.min(1, Math.ceil(Math.max(...values) * 100 + 0.5) / 100) : 1;
  const x = (v: number) => LABEL + ((v - lo) / (hi - lo)) * PLOT;

  const body: string[] = [];
  let y = TOP;
  for (const arch of [...new Set(ordered.map((r) => r.arch))]) {
    body.push(`<text x="8" y="${y + 14}" font-weight="bold">${esc(arch.toUpperCase())}</text>`);
    y += ROW;
    for (const r of ordered.filter((o) => o.arch === arch)) {
      const name = modelName(r.file);
      const mid = y + ROW / 2;
      body.push(`<text x="${LABEL - 8}" y="${mid + 4}" text-anchor="end">${esc(name)}</text>`);
      if (r.lowbit_accuracy === null) {
        body.push(`<text x="${LABEL + 4}" y="${mid + 4}" fill="#dc2626">lowbit fails</text>`);
      } else {
        const w = Math.max(0, x(r.lowbit_accuracy) - LABEL);
        const fill = COLOURS[r.precision] ?? OTHER;
        body.push(`<rect x="${LABEL}" y="${mid - BAR / 2}" width="${w.toFixed(1)}" height="${BAR}" fill="${fill}"><title>${esc(`${name}: lowbit ${pct(r.lowbit_accuracy)}`)}</title></rect>`);
        body.push(`<text x="${(LABEL + w + 6).toFixed(1)}" y="${mid + 4}">${pct(r.lowbit_accuracy)}</text>`);
      }
      const ref = referenceOf(r);
      if (ref !== null) {
        const rx = x(ref).toFixed(1);
        body.push(`<line x1="${rx}" x2="${rx}" y1="${mid - BAR / 2 - 3}" y2="${mid + BAR / 2 + 3}" stroke="#111" stroke-width="2"><title>${esc(`${name}: reference ${pct(ref)}`)}</title></line>`);
      }
      y += ROW;
    }
  }
  const bottom = y + 8;
  const grid: string[] = [];
  for (let p = Math.round(lo * 100); p <= Math.round(hi * 100); p++) {
    const gx = x(p / 100).toFixed(1);
    grid.push(`<line x1="${gx}" x2="${gx}" y1="${TOP}" y2="${bottom}" stroke="#e5e7eb"/>`);
    if (p % 2 === 0 || hi - lo <= 0.1) grid.push(`<text x="${gx}" y="${bottom + 14}" text-anchor="middle" fill="#555">${p} %</text>`);
  }
  const height = bottom + 40;
  const images = (rows[0]?.images ?? 0).toLocaleString('en-US');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold">Fashion-MNIST test accuracy (${images} images): lowbit (bars) and the reference (ticks)</text>`,
    `<text x="8" y="36" fill="#555">Reference: onnxruntime-node for standard ONNX, qonnx (Python) for QONNX. The axis starts at ${Math.round(lo * 100)} %.</text>`,
    ...grid,
    ...body,
    `<text x="${LABEL + PLOT / 2}" y="${bottom + 30}" text-anchor="middle" fill="#555">test accuracy</text>`,
    '</svg>',
    '',
  ].join('\n');
}
