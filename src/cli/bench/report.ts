// What `lowbit bench` prints: a table of medians and p90s per runtime with the ratio to lowbit,
// or (--json) the same as one JSON object.

import type { RuntimeId } from './runtimes.js';

export interface RuntimeResult {
  id: RuntimeId;
  version: string;
  detail: string;
  median_ms: number;
  p10_ms: number;
  p90_ms: number;
  runs: number;
  /** This runtime's median over lowbit's: above 1, lowbit is faster. */
  over_lowbit: number;
  /** Largest absolute difference of its first outputs from lowbit's. */
  max_abs_diff_vs_lowbit: number;
}

export interface BenchReport {
  model: string;
  inputs: { name: string; type: string; dims: number[] }[];
  runtimes: RuntimeResult[];
  /** Runtimes that could not run the model, with the reason. */
  errors: Partial<Record<RuntimeId, string>>;
}

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(3));

export function formatReport(r: BenchReport): string {
  const head = ['runtime', 'median ms', 'p90 ms', 'runs', '÷ lowbit', 'max |Δ| vs lowbit', 'on'];
  const rows = r.runtimes.map((x) => [`${x.id} ${x.version}`, ms(x.median_ms), ms(x.p90_ms), String(x.runs), `${x.over_lowbit.toFixed(2)}×`, x.id === 'lowbit' ? '—' : x.max_abs_diff_vs_lowbit.toExponential(1), x.detail]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const right = new Set([1, 2, 3, 4, 5]);
  const line = (cells: string[]) => cells.map((c, i) => (right.has(i) ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ').trimEnd();
  const out = [
    `${r.model}: ${r.inputs.map((i) => `${i.name} ${i.type} [${i.dims.join(',')}]`).join(', ')}`,
    '',
    line(head),
    line(width.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
  if (r.runtimes.length > 1) out.push('', '÷ lowbit: the runtime\'s median time over lowbit\'s (above 1: lowbit is faster).');
  for (const [id, e] of Object.entries(r.errors)) out.push(`${id}: not timed: ${e}`);
  return `${out.join('\n')}\n`;
}
