// The pure half of `npm run eval`: the kernel path of a model from its inspect report, the
// markdown tables grouped by architecture and precision, and the in-place replacement of the
// generated section of models/README.md between its marker comments.

import type { NodeReport } from '../../src/index.js';
import type { EvalRow } from './measure-model.js';

export const BEGIN_MARKER = '<!-- eval:begin';
export const END_MARKER = '<!-- eval:end -->';

/** Precisions from widest to narrowest; others follow in the order models.json lists them. */
export const PRECISION_ORDER = ['fp32', 'int8', 'int4', 'w2a8', 'w2a2', 'w1a1'];

export interface LayerPath {
  /** Compute kernel per layer in execution order, repeats collapsed: 'conv_i8 → bconv_b1b1 ×2 → gemm_f32'. */
  path: string;
  /** What each kernel in the path computes (inspect's arithmetic). */
  kernels: Record<string, string>;
  /** Layers the low-bit rules declined, left on the exact float path: 'name (op): why'. */
  float_layers: string[];
}

export function layerPath(nodes: readonly NodeReport[]): LayerPath {
  const runs: { kernel: string; count: number }[] = [];
  const kernels: Record<string, string> = {};
  for (const n of nodes) {
    if (n.activationBits === null) continue;
    kernels[n.kernel] = n.math;
    const last = runs[runs.length - 1];
    if (last?.kernel === n.kernel) last.count++;
    else runs.push({ kernel: n.kernel, count: 1 });
  }
  return {
    path: runs.map((r) => (r.count > 1 ? `${r.kernel} ×${r.count}` : r.kernel)).join(' → '),
    kernels,
    float_layers: nodes.filter((n) => n.reason !== null).map((n) => `${n.name} (${n.opType}): ${n.reason}`),
  };
}

/** The accuracy the table calls the reference: onnxruntime-node measured here, else models.json's. */
export const referenceOf = (r: Pick<EvalRow, 'reference' | 'ortnode_accuracy' | 'reference_accuracy'>): number | null =>
  (r.reference === 'onnxruntime' ? r.ortnode_accuracy : r.reference_accuracy);

/** Images in the Fashion-MNIST test set, on which models.json's reference accuracies were measured. */
export const TEST_SET_IMAGES = 10000;

const count = (n: number): string => n.toLocaleString('en-US');

export const percent = (x: number | null): string => (x === null ? '—' : `${(100 * x).toFixed(2)} %`);

/** Decimal units, three significant digits: 96.7 kB, 1.08 MB. */
export function bytes(n: number | null): string {
  if (n === null) return '—';
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toPrecision(3)} kB`;
  return `${(n / 1e6).toPrecision(3)} MB`;
}

export const millis = (x: number | undefined): string => (x === undefined ? '—' : x.toPrecision(3));

/** Rows grouped by arch (first-seen order), then precision (PRECISION_ORDER), then input order. */
export function orderRows<T extends Pick<EvalRow, 'arch' | 'precision'>>(rows: readonly T[]): T[] {
  const archs = [...new Set(rows.map((r) => r.arch))];
  const rank = (p: string) => (PRECISION_ORDER.includes(p) ? PRECISION_ORDER.indexOf(p) : PRECISION_ORDER.length);
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => archs.indexOf(a.r.arch) - archs.indexOf(b.r.arch) || rank(a.r.precision) - rank(b.r.precision) || a.i - b.i)
    .map(({ r }) => r);
}

/** 'models/fmnist-mlp-w2a8-qdq.onnx' → 'mlp-w2a8-qdq': every model here is a Fashion-MNIST one. */
export const modelName = (file: string): string => file.replace(/^.*\//, '').replace(/\.onnx$/, '').replace(/^fmnist-/, '');
const fileName = (file: string): string => file.replace(/^.*\//, '');
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export interface EvalEnv {
  date: string;
  node: string;
  cpu: string;
  cpus: number;
  /** 1-minute load average before and after the run. */
  load_before: number;
  load_after: number;
  lowbit_backend: string;
  ortweb_version: string;
  ortnode_version: string;
  images: number;
}

const HEADER = [
  'model', 'precision', 'format', 'lowbit accuracy', 'reference accuracy', 'differs from ort-node',
  'file size', 'packed weights (fp32 ÷ packed)', 'lowbit path', 'lowbit ms', 'ort-web ms',
];

function tableRow(r: EvalRow): string[] {
  const qonnx = r.reference !== 'onnxruntime';
  const ref = referenceOf(r);
  const reference = ref === null ? 'fails³' : `${percent(ref)} ${qonnx ? 'qonnx¹' : 'ort-node'}`;
  const basic = r.ortnode_basic_differs === null ? '' : ` (${count(r.ortnode_basic_differs)} at \`basic\`⁴)`;
  const compression = r.packed_weight_bytes && r.fp32_weight_bytes ? ` (${(r.fp32_weight_bytes / r.packed_weight_bytes).toFixed(1)}×)` : '';
  return [
    `[${modelName(r.file)}](${fileName(r.file)})`,
    r.precision,
    r.format,
    r.lowbit_accuracy === null ? 'fails³' : percent(r.lowbit_accuracy),
    reference,
    qonnx ? '—¹' : r.ortnode_differs === null ? '—' : `${count(r.ortnode_differs)} / ${count(r.images)}${basic}`,
    bytes(r.file_bytes),
    `${bytes(r.packed_weight_bytes)}${compression}`,
    r.path || '—',
    millis(r.latency.lowbit?.median),
    qonnx ? '—²' : r.errors.ortweb ? 'fails³' : millis(r.latency.ortweb?.median),
  ].map(cell);
}

const markdownRow = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;

/** One table per architecture, rows by precision. */
export function renderTables(rows: readonly EvalRow[]): string {
  const out: string[] = [];
  for (const arch of [...new Set(orderRows(rows).map((r) => r.arch))]) {
    out.push(`### ${arch.toUpperCase()}`, '', markdownRow(HEADER), markdownRow(HEADER.map(() => '---')));
    for (const r of orderRows(rows).filter((x) => x.arch === arch)) out.push(markdownRow(tableRow(r)));
    out.push('');
  }
  return out.join('\n');
}

function footnotes(rows: readonly EvalRow[], env: EvalEnv): string[] {
  const full = env.images === TEST_SET_IMAGES;
  const std = rows.filter((r) => r.reference === 'onnxruntime' && r.ortnode_accuracy !== null);
  const off = std.filter((r) => r.ortnode_accuracy !== r.reference_accuracy);
  const notes = [
    `¹ QONNX: onnxruntime cannot run its custom ops (\`Quant\`, \`BipolarQuant\`); the reference accuracy is qonnx's executor in Python on all 10,000 images (\`scripts/train/measure_models.py\`, recorded in \`models.json\`)${full ? '' : ` — this run used the first ${count(env.images)} only`}.`,
    '² onnxruntime-web cannot run QONNX either.',
  ];
  const failures = rows.flatMap((r) => Object.entries(r.errors).map(([who, e]) => `${modelName(r.file)}, ${who}: ${e}`));
  if (failures.length) notes.push(`³ Failures: ${failures.map(cell).join('; ')}.`);
  if (rows.some((r) => r.ortnode_basic_differs !== null)) {
    notes.push('⁴ Against onnxruntime-node with graph optimizations at `basic`. Its default level, `all`, may rewrite a layer approximately — it fuses DequantizeLinear(int4) → MatMul into MatMulNBits with int8 activations (`session.qdq_matmulnbits_accuracy_level` 4) — while lowbit computes the graph as written.');
  }
  if (std.length > 0 && full) {
    notes.push(off.length === 0
      ? `For every standard ONNX model onnxruntime-node ${env.ortnode_version} here scores exactly what Python's onnxruntime recorded in \`models.json\`.`
      : `onnxruntime-node ${env.ortnode_version} here differs from the Python onnxruntime number in \`models.json\` on ${off.map((r) => `${modelName(r.file)} (${percent(r.reference_accuracy)})`).join(', ')}.`);
  }
  return notes;
}

function kernelLegend(rows: readonly EvalRow[]): string {
  const all = new Map<string, string>();
  for (const r of rows) for (const [k, m] of Object.entries(r.kernels)) all.set(k, m);
  return [...all].sort(([a], [b]) => a.localeCompare(b)).map(([k, m]) => `\`${k}\` ${m}`).join(' · ');
}

function floatLayers(rows: readonly EvalRow[]): string[] {
  const lowbit = orderRows(rows).filter((r) => r.precision !== 'fp32' && r.float_layers.length > 0);
  if (lowbit.length === 0) return [];
  return [
    '<details><summary>Layers of the quantized models that lowbit keeps on the exact float path, and why</summary>',
    '',
    ...lowbit.flatMap((r) => r.float_layers.map((l) => `- ${modelName(r.file)}: ${l}`)),
    '',
    '</details>',
  ];
}

/** The generated section of models/README.md: environment, chart, tables and their notes. */
export function renderSection(rows: readonly EvalRow[], env: EvalEnv, chart: string | null): string {
  const load = `load average ${env.load_before.toFixed(1)} before, ${env.load_after.toFixed(1)} after`;
  return [
    `Measured ${env.date.slice(0, 10)} by \`npm run eval\` on ${env.images === TEST_SET_IMAGES ? `all ${count(TEST_SET_IMAGES)}` : `the first ${count(env.images)}`} test images: ${env.cpu}, ${env.cpus} cores shared with other jobs (${load}), Node ${env.node}, lowbit's \`${env.lowbit_backend}\` kernels, onnxruntime-web ${env.ortweb_version} (WASM, 1 thread), onnxruntime-node ${env.ortnode_version} (CPU, 1 thread). Latency: one image \`[1,1,28,28]\`, median of ≥ 50 warm runs, lowbit and onnxruntime-web in alternating blocks of runs in one process — on a loaded machine, compare the two columns rather than the absolute numbers.`,
    '',
    ...(chart ? [chart, ''] : []),
    renderTables(rows),
    ...footnotes(rows, env).flatMap((n) => [n, '']),
    `Kernels in the path: ${kernelLegend(rows)}.`,
    '',
    ...floatLayers(rows),
  ].join('\n').trimEnd();
}

/**
 * `text` with everything between the line that starts with BEGIN_MARKER and the END_MARKER line
 * replaced by `content`; the marker lines themselves stay.
 */
export function replaceSection(text: string, content: string): string {
  const lines = text.split('\n');
  const begins = lines.flatMap((l, i) => (l.startsWith(BEGIN_MARKER) ? [i] : []));
  const ends = lines.flatMap((l, i) => (l.trim() === END_MARKER ? [i] : []));
  if (begins.length !== 1 || ends.length !== 1) {
    throw new Error(`expected one '${BEGIN_MARKER} …-->' line and one '${END_MARKER}' line, found ${begins.length} and ${ends.length}`);
  }
  if (ends[0] < begins[0]) throw new Error(`'${END_MARKER}' comes before '${BEGIN_MARKER}'`);
  return [...lines.slice(0, begins[0] + 1), content, ...lines.slice(ends[0])].join('\n');
}
