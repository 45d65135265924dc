// What `lowbit bench` prints: a table of steady-state medians and p90s per runtime with the ratio
// to lowbit (and, beside other runtimes, the median of a run right after theirs), or (--json) the
// same as one JSON object.

import type { RuntimeId } from './runtimes.js';

export interface RuntimeResult {
  id: RuntimeId;
  version: string;
  detail: string;
  /** Order statistics of the steady runs (every run of a block but its first). */
  median_ms: number;
  p10_ms: number;
  p90_ms: number;
  runs: number;
  /** Rounds of blocks (the same for every runtime) and consecutive runs per block. */
  blocks: number;
  runs_per_block: number;
  /** With other runtimes: the median first run of a block, right after their blocks. */
  cold_ms?: number;
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
  const withCold = r.runtimes.length > 1;
  const head = ['runtime', 'median ms', 'p90 ms', ...(withCold ? ['cold ms'] : []), 'runs', '÷ lowbit', 'max |Δ| vs lowbit', 'on'];
  const rows = r.runtimes.map((x) => [
    `${x.id} ${x.version}`, ms(x.median_ms), ms(x.p90_ms), ...(withCold ? [ms(x.cold_ms!)] : []), String(x.runs), `${x.over_lowbit.toFixed(2)}×`,
    x.id === 'lowbit' ? '—' : x.max_abs_diff_vs_lowbit.toExponential(1), x.detail,
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const left = new Set([0, head.length - 1]);
  const line = (cells: string[]) => cells.map((c, i) => (left.has(i) ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ').trimEnd();
  const out = [
    `${r.model}: ${r.inputs.map((i) => `${i.name} ${i.type} [${i.dims.join(',')}]`).join(', ')}`,
    '',
    line(head),
    line(width.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
  if (withCold) {
    out.push('', 'median, p90, runs: repeated runs of the model, the first of each block of a runtime\'s runs left out;',
      'cold: that first run, right after the other runtimes\' runs (their data in the caches).',
      '÷ lowbit: the runtime\'s median time over lowbit\'s (above 1: lowbit is faster).');
  }
  for (const [id, e] of Object.entries(r.errors)) out.push(`${id}: not timed: ${e}`);
  return `${out.join('\n')}\n`;
}
