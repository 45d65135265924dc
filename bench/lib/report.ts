// results.json rows, the environment record and the table printed and written to results.md.

import type { BenchRow } from '../rows.js';
import type { Agreement, RowMeasurement } from './measure.js';
import { RUNTIME_LABELS, type RuntimeId } from './runtimes.js';

export interface ResultRow {
  id: string;
  lowbit_ms: number | null;
  ortweb_ms: number | null;
  ortnode_ms: number | null;
  /** > 1 means lowbit is faster. */
  ortweb_over_lowbit: number | null;
  ortnode_over_lowbit: number | null;
  lowbit_p10_ms: number | null;
  lowbit_p90_ms: number | null;
  ortweb_p10_ms: number | null;
  ortweb_p90_ms: number | null;
  ortnode_p10_ms: number | null;
  ortnode_p90_ms: number | null;
  /** Medians of the first run of each block, right after the other runtimes' blocks (caches and TLB hold their data). */
  lowbit_cold_ms: number | null;
  ortweb_cold_ms: number | null;
  ortnode_cold_ms: number | null;
  ortweb_over_lowbit_cold: number | null;
  /** Rounds of blocks: blocks of runs per runtime (after warm-up). */
  iterations: number;
  macs: number;
  lowbit_gmacs: number | null;
  /** Binary rows: GOP/s (2 ops per multiply-accumulate), ort-web on the fp32 model and on its int8 twin. */
  lowbit_gops?: number | null;
  ortweb_fp32_ms?: number | null;
  ortweb_int8_ms?: number | null;
  ortweb_fp32_over_lowbit?: number | null;
  ortweb_int8_over_lowbit?: number | null;
  /** Agreement of each runtime's outputs with onnxruntime-node's (absent when it could not run). */
  check: Partial<Record<'lowbit' | 'ortweb', Agreement>>;
  /** L-Mul rows: lowbit's time over its time on the f32 row of the same shape (same run). */
  lmul_over_f32?: number | null;
  error?: string;
}

export interface Results {
  env: Record<string, string | number | boolean>;
  rows: ResultRow[];
}

const round = (x: number, digits = 4): number => Number(x.toPrecision(digits));
const ratio = (a: number | null, b: number | null): number | null => (a !== null && b !== null && b > 0 ? round(a / b, 3) : null);

/** The row's result; rows with an int8 twin get the binary columns (m.timings.ortweb_int8). */
export function resultRow(row: BenchRow, m: RowMeasurement): ResultRow {
  const at = (id: RuntimeId, k: 'median' | 'p10' | 'p90'): number | null => {
    const s = m.timings[id];
    return s ? round(s[k]) : null;
  };
  const lowbit = at('lowbit', 'median');
  const ortweb = at('ortweb', 'median');
  const ortnode = at('ortnode', 'median');
  const cold = (id: RuntimeId): number | null => {
    const s = m.cold[id];
    return s ? round(s.median) : null;
  };
  const errors = Object.entries(m.errors).map(([id, e]) => `${id === 'ortweb_int8' ? 'ortweb (int8 twin)' : id}: ${e}`);
  const int8 = m.timings.ortweb_int8 ? round(m.timings.ortweb_int8.median) : null;
  const binary = row.int8Twin
    ? {
      lowbit_gops: lowbit !== null ? round((2 * row.macs) / lowbit / 1e6, 3) : null,
      ortweb_fp32_ms: ortweb,
      ortweb_int8_ms: int8,
      ortweb_fp32_over_lowbit: ratio(ortweb, lowbit),
      ortweb_int8_over_lowbit: ratio(int8, lowbit),
    }
    : {};
  return {
    id: row.id,
    lowbit_ms: lowbit,
    ortweb_ms: ortweb,
    ortnode_ms: ortnode,
    ortweb_over_lowbit: ratio(ortweb, lowbit),
    ortnode_over_lowbit: ratio(ortnode, lowbit),
    lowbit_p10_ms: at('lowbit', 'p10'),
    lowbit_p90_ms: at('lowbit', 'p90'),
    ortweb_p10_ms: at('ortweb', 'p10'),
    ortweb_p90_ms: at('ortweb', 'p90'),
    ortnode_p10_ms: at('ortnode', 'p10'),
    ortnode_p90_ms: at('ortnode', 'p90'),
    lowbit_cold_ms: cold('lowbit'),
    ortweb_cold_ms: cold('ortweb'),
    ortnode_cold_ms: cold('ortnode'),
    ortweb_over_lowbit_cold: ratio(cold('ortweb'), cold('lowbit')),
    iterations: m.iterations,
    macs: row.macs,
    lowbit_gmacs: lowbit !== null ? round(row.macs / lowbit / 1e6, 3) : null,
    ...binary,
    check: { lowbit: m.agreement.lowbit, ortweb: m.agreement.ortweb },
    ...(errors.length ? { error: errors.join('; ') } : {}),
  };
}

const ms = (x: number | null): string => (x === null ? '—' : x.toPrecision(3));
const times = (x: number | null): string => (x === null ? '—' : `${x.toFixed(2)}×`);
const diff = (a?: Agreement): string => (a ? `${a.max_abs.toExponential(1)} / ${a.max_rel.toExponential(1)}${a.ok ? '' : ' FAIL'}` : '—');

/** The results as a markdown table, followed by the rows' errors. */
export function markdownTable(rows: readonly ResultRow[]): string {
  const head = ['row', `${RUNTIME_LABELS.lowbit} ms`, `${RUNTIME_LABELS.ortweb} ms`, `${RUNTIME_LABELS.ortnode} ms`, 'ort-web/lowbit', 'ort-node/lowbit',
    'lowbit cold ms', 'ort-web/lowbit cold', 'lowbit vs ort-node (max abs / rel)'];
  const body = rows.map((r) => [r.id, ms(r.lowbit_ms), ms(r.ortweb_ms), ms(r.ortnode_ms), times(r.ortweb_over_lowbit), times(r.ortnode_over_lowbit),
    ms(r.lowbit_cold_ms), times(r.ortweb_over_lowbit_cold), diff(r.check.lowbit)]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(width[i]) : c.padStart(width[i]))).join(' | ')} |`;
  const rule = `|${width.map((w, i) => (i === 0 || i === width.length - 1 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  const errors = rows.filter((r) => r.error).map((r) => `- ${r.id}: ${r.error}`);
  const binary = rows.filter((r) => r.ortweb_fp32_ms !== undefined).map((r) =>
    `- ${r.id}: lowbit ${r.lowbit_gops ?? '—'} GOP/s; ort-web fp32 ${ms(r.ortweb_fp32_ms ?? null)} ms (${times(r.ortweb_fp32_over_lowbit ?? null)}), ` +
    `ort-web int8 ${ms(r.ortweb_int8_ms ?? null)} ms (${times(r.ortweb_int8_over_lowbit ?? null)})`);
  const lmul = rows.filter((r) => r.lmul_over_f32 !== undefined).map((r) =>
    `- ${r.id}: lowbit in the L-Mul mode (m = 3) takes ${times(r.lmul_over_f32 ?? null)} the time of its f32 kernels on the same shape`);
  const legend = 'Medians of repeated runs (steady state); cold: the first run of each block of runs, right after the other runtimes\' runs.';
  return [line(head), rule, ...body.map(line), '', legend, ...(binary.length ? ['', ...binary] : []), ...(lmul.length ? ['', ...lmul] : []),
    ...(errors.length ? ['', ...errors] : [])].join('\n');
}
