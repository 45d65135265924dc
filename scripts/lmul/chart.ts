// docs/lmul-study.svg: mean relative error of single products (log scale) against the mantissa
// bits m for L-Mul (truncated and rounded operands, normal data and activations), with the
// float8 / bfloat16 formats as horizontal reference lines. Plain SVG text.

import type { Stat } from './errors.js';

interface Row {
  name: string;
  normal: Stat;
  act: Stat;
}

const W = 720, H = 400, L = 70, R = 200, T = 40, B = 50;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function lineChart(ms: readonly number[], rows: readonly Row[]): string {
  const series: { label: string; colour: string; dash?: string; pts: [number, number][] }[] = [
    { label: 'L-Mul (truncated), normal', colour: '#dc2626', pts: ms.map((m) => [m, rows.find((r) => r.name === `L-Mul m=${m}`)!.normal.mean]) },
    { label: 'L-Mul (truncated), activations', colour: '#dc2626', dash: '6 3', pts: ms.map((m) => [m, rows.find((r) => r.name === `L-Mul m=${m}`)!.act.mean]) },
    { label: 'L-Mul (RNE operands), normal', colour: '#2563eb', pts: ms.map((m) => [m, rows.find((r) => r.name === `L-Mul m=${m}, RNE operands`)!.normal.mean]) },
  ];
  const refs = [['float8 e5m2', '#d97706'], ['float8 e4m3', '#0d9488'], ['bfloat16', '#6b7280']].map(([name, colour]) => ({
    label: `${name}, normal`, colour, v: rows.find((r) => r.name === name)!.normal.mean,
  }));
  const vals = [...series.flatMap((s) => s.pts.map((p) => p[1])), ...refs.map((r) => r.v)].filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.min(...vals))), hi = Math.ceil(Math.log10(Math.max(...vals)));
  const x = (m: number) => L + ((m - ms[0]) / (ms[ms.length - 1] - ms[0])) * (W - L - R);
  const y = (v: number) => T + ((hi - Math.log10(v)) / (hi - lo)) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="22" font-weight="bold">Mean relative error of one product vs mantissa bits (log scale)</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${L - 6}" y="${y(10 ** e) + 4}" text-anchor="end">${esc(`${100 * 10 ** e}`.slice(0, 8))} %</text>`);
  }
  for (const m of ms) out.push(`<text x="${x(m)}" y="${H - B + 18}" text-anchor="middle">${m}</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">L-Mul mantissa bits m</text>`);
  let ly = T + 10;
  const legend = (label: string, colour: string, dash?: string) => {
    out.push(`<line x1="${W - R + 12}" x2="${W - R + 36}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    out.push(`<text x="${W - R + 42}" y="${ly + 4}">${esc(label)}</text>`);
    ly += 18;
  };
  for (const s of series) {
    out.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${s.pts.map(([m, v]) => `${x(m).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`);
    for (const [m, v] of s.pts) out.push(`<circle cx="${x(m).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${s.colour}"/>`);
    legend(s.label, s.colour, s.dash);
  }
  for (const r of refs) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(r.v).toFixed(1)}" y2="${y(r.v).toFixed(1)}" stroke="${r.colour}" stroke-width="1.5" stroke-dasharray="2 3"/>`);
    legend(r.label, r.colour, '2 3');
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
