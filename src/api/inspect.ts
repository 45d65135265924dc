// inspect(model): what lowbit runs for a model, per node — kernel, weight and activation bits,
// packed vs fp32 weight bytes, why a layer stayed on the float path — and formatInspect(report),
// the aligned table `lowbit inspect` prints.

import { fail } from '../errors.js';
import type { InspectReport, NodeReport } from '../session/inspect.js';
import type { ModelSource } from './load.js';
import { InferenceSession, type SessionOptions } from './session.js';

export interface InspectOptions extends SessionOptions {
  /** Input shapes to plan for. Inputs not given keep their static shape, symbolic dims as 1. */
  shapes?: Readonly<Record<string, readonly number[]>>;
}

export async function inspect(model: ModelSource, options: InspectOptions = {}): Promise<InspectReport> {
  const { shapes = {}, ...sessionOptions } = options;
  const session = await InferenceSession.create(model, sessionOptions);
  try {
    for (const name of Object.keys(shapes)) {
      if (!session.inputNames.includes(name)) fail('LOWBIT_BAD_INPUT', `'${name}' is not an input of this model (inputs: ${session.inputNames.join(', ')})`);
    }
    const full = Object.fromEntries(session.inputMetadata.map((m) => [m.name, shapes[m.name] ?? m.shape.map((d) => (typeof d === 'number' ? d : 1))]));
    return session.inspect(full);
  } finally {
    await session.release();
  }
}

const bytes = (n: number | null): string => (n === null ? '-' : n.toLocaleString('en-US'));
const bits = (n: number | null): string => (n === null ? '-' : String(n));

/** What the note column says: why the rules declined the layer, else the kernels' own notes. */
function note(n: NodeReport): string {
  if (n.reason) return n.reason;
  if (n.notes.length > 0) return n.notes.join('; ');
  return n.exact ? '' : 'approximates the ONNX semantics';
}

/** The report as an aligned table with a totals row, then passes and memory. */
export function formatInspect(report: InspectReport): string {
  const head = ['node', 'op', 'kernel', 'W bits', 'A bits', 'packed B', 'fp32 B', 'note'];
  const rows = report.nodes.map((n) => [
    n.name, n.opType, n.kernel || '-', bits(n.weightBits), bits(n.activationBits), bytes(n.packedWeightBytes), bytes(n.fp32WeightBytes), note(n),
  ]);
  const t = report.totals;
  const ratio = t.compression === null ? '' : `fp32 / packed = ${t.compression.toFixed(2)}×`;
  const total = [`total (${t.layers} layer${t.layers === 1 ? '' : 's'} with weights)`, '', '', '', '', bytes(t.packedWeightBytes), bytes(t.fp32WeightBytes), ratio];
  const right = new Set([3, 4, 5, 6]);
  const width = head.map((h, c) => Math.max(h.length, ...[...rows, total].map((r) => r[c].length)));
  const line = (r: string[]) => r.map((x, c) => (c === r.length - 1 ? x : right.has(c) ? x.padStart(width[c]) : x.padEnd(width[c]))).join('  ').trimEnd();
  const rule = width.slice(0, -1).map((w) => '-'.repeat(w)).join('  ');
  const inputs = report.inputs.map((i) => `${i.name} ${i.dtype} [${i.dims.join(',')}]`).join(', ');
  const passes = Object.entries(report.passes).map(([k, v]) => `${k} ×${v}`).join(', ') || 'none fired';
  const m = report.memory;
  return [
    `backend ${report.backend}; inputs ${inputs}`,
    '',
    line(head),
    rule,
    ...rows.map(line),
    rule,
    line(total),
    '',
    `passes: ${passes}`,
    `memory: weights ${bytes(m.weightsBytes)} B, arena ${bytes(m.arenaBytes)} B, plan constants ${bytes(m.paramsBytes)} B, ${m.steps} steps`,
  ].join('\n');
}
