// The pure parts of `npm run eval`: the kernel path taken from an inspect report, row order, the
// markdown tables and notes, the chart, and the replacement of models/README.md's generated
// section between its markers. The 10,000-image run itself is not a test (it needs Debian's
// dataset and minutes of machine time).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NodeReport } from '../src/index.js';
import { accuracyChart } from '../scripts/eval/chart.js';
import type { EvalRow } from '../scripts/eval/measure-model.js';
import { argmaxRows } from '../scripts/eval/measure-model.js';
import {
  BEGIN_MARKER, END_MARKER, bytes, layerPath, orderRows, renderSection, renderTables, replaceSection, type EvalEnv,
} from '../scripts/eval/render.js';

function node(name: string, kernel: string, math: string, activationBits: number | null, reason: string | null = null): NodeReport {
  return {
    name, opType: 'Op', domain: 'ai.onnx', kernels: kernel ? [kernel] : [], kernel, math, exact: true, notes: [],
    weightBits: null, activationBits, packedWeightBytes: null, fp32WeightBytes: null, reason,
  };
}

function row(file: string, arch: string, precision: string, over: Partial<EvalRow> = {}): EvalRow {
  const qonnx = file.endsWith('-qonnx.onnx');
  return {
    file: `models/${file}`, arch, precision, precision_detail: '', format: qonnx ? 'qonnx' : 'qdq',
    reference: qonnx ? 'qonnx' : 'onnxruntime', images: 10000, lowbit_accuracy: 0.9, reference_accuracy: 0.9,
    ortnode_accuracy: qonnx ? null : 0.9, ortnode_differs: qonnx ? null : 0, ortnode_basic_differs: null, file_bytes: 96730,
    packed_weight_bytes: 74576, fp32_weight_bytes: 1075200, path: 'tgemm_t2i8 ×3', kernels: { tgemm_t2i8: 'ternary×int8→int32' },
    float_layers: [], passes: {}, latency: { lowbit: { median: 0.0358, p10: 0.03, p90: 0.04, n: 50 } }, latency_runs: 50, errors: {},
    ...over,
  };
}

const ENV: EvalEnv = {
  date: '2026-12-03T10:00:00.000Z', node: 'v20', cpu: 'CPU', cpus: 2, load_before: 6.5, load_after: 6.3,
  lowbit_backend: 'relaxed', ortweb_version: '1.30.0', ortnode_version: '1.30.0', images: 10000,
};

/** The cells of the markdown table row whose first cell links `name`. */
function cells(md: string, name: string): string[] {
  const line = md.split('\n').find((l) => l.startsWith(`| [${name}]`));
  expect(line, name).toBeDefined();
  return line!.slice(2, -2).split(' | ');
}

describe('eval: kernel path of a model', () => {
  it('lists compute layers in order, collapses repeats, skips data movement, keeps declined layers', () => {
    const p = layerPath([
      node('q', 'quantize_linear', 'quantize', null),
      node('c0', 'conv_i8', 'int8 im2col', 8),
      node('c1', 'bconv_b1b1', 'binary×binary (xnor-popcount)', 1),
      node('pool', 'maxpool_b1', 'max pool on sign bits (and/or)', null),
      node('c2', 'bconv_b1b1', 'binary×binary (xnor-popcount)', 1),
      node('fc', 'bgemm_b1b1', 'binary×binary (xnor-popcount)', 1),
      node('out', 'gemm_f32', 'f32', 32, 'binary: weights are not ±s per output channel'),
    ]);
    // The pool between c1 and c2 is not a compute layer, so the two convs are one run.
    expect(p.path).toBe('conv_i8 → bconv_b1b1 ×2 → bgemm_b1b1 → gemm_f32');
    expect(p.kernels).toEqual({
      conv_i8: 'int8 im2col', bconv_b1b1: 'binary×binary (xnor-popcount)', bgemm_b1b1: 'binary×binary (xnor-popcount)', gemm_f32: 'f32',
    });
    expect(p.float_layers).toEqual(['out (Op): binary: weights are not ±s per output channel']);
  });

  it('argmax per row of class scores takes the first maximum', () => {
    const scores = new Float32Array(30);
    scores[3] = 2; // row 0 → 3
    scores[10 + 9] = 1; // row 1 → 9
    scores[20 + 4] = 5; scores[20 + 7] = 5; // row 2: tie → 4
    expect([...argmaxRows(scores, 3)]).toEqual([3, 9, 4]);
  });
});

describe('eval: tables', () => {
  it('groups by arch in first-seen order, then by precision from fp32 down, then input order', () => {
    const rows = [
      row('fmnist-mlp-w1a1-qonnx.onnx', 'mlp', 'w1a1'), row('fmnist-cnn-int8-qdq.onnx', 'cnn', 'int8'),
      row('fmnist-mlp-fp32.onnx', 'mlp', 'fp32'), row('fmnist-mlp-w2a8-qonnx.onnx', 'mlp', 'w2a8'),
      row('fmnist-mlp-w2a8-qdq.onnx', 'mlp', 'w2a8'), row('fmnist-cnn-fp32.onnx', 'cnn', 'fp32'),
    ];
    expect(orderRows(rows).map((r) => r.file.slice(14))).toEqual([
      'mlp-fp32.onnx', 'mlp-w2a8-qonnx.onnx', 'mlp-w2a8-qdq.onnx', 'mlp-w1a1-qonnx.onnx', 'cnn-fp32.onnx', 'cnn-int8-qdq.onnx',
    ]);
    const md = renderTables(rows);
    expect(md.indexOf('### MLP')).toBeLessThan(md.indexOf('### CNN'));
    expect(md.indexOf('[mlp-w1a1-qonnx]')).toBeLessThan(md.indexOf('### CNN'));
  });

  it('renders one row per model: accuracies, agreement, sizes, path, latencies; QONNX gets the footnoted dashes', () => {
    const md = renderTables([
      row('fmnist-mlp-w2a8-qdq.onnx', 'mlp', 'w2a8', {
        lowbit_accuracy: 0.8975, ortnode_accuracy: 0.8975, ortnode_differs: 2, ortnode_basic_differs: 0,
        latency: { lowbit: { median: 0.0358, p10: 0, p90: 0, n: 50 }, ortweb: { median: 0.6161, p10: 0, p90: 0, n: 50 } },
      }),
      row('fmnist-mlp-w2a8-qonnx.onnx', 'mlp', 'w2a8', { reference_accuracy: 0.8975, file_bytes: 1086865, packed_weight_bytes: 1081344, path: 'gemm_f32 ×3' }),
    ]);
    expect(cells(md, 'mlp-w2a8-qdq')).toEqual([
      '[mlp-w2a8-qdq](fmnist-mlp-w2a8-qdq.onnx)', 'w2a8', 'qdq', '89.75 %', '89.75 % ort-node', '2 / 10,000 (0 at `basic`⁴)',
      '96.7 kB', '74.6 kB (14.4×)', 'tgemm_t2i8 ×3', '0.0358', '0.616',
    ]);
    expect(cells(md, 'mlp-w2a8-qonnx')).toEqual([
      '[mlp-w2a8-qonnx](fmnist-mlp-w2a8-qonnx.onnx)', 'w2a8', 'qonnx', '90.00 %', '89.75 % qonnx¹', '—¹',
      '1.09 MB', '1.08 MB (1.0×)', 'gemm_f32 ×3', '0.0358', '—²',
    ]);
    // Every row has as many cells as the header.
    const widths = md.split('\n').filter((l) => l.startsWith('|')).map((l) => l.split(' | ').length);
    expect(new Set(widths).size).toBe(1);
  });

  it('marks failures in the cells and lists their messages', () => {
    const failed = row('fmnist-cnn-w2a2-qdq.onnx', 'cnn', 'w2a2', {
      lowbit_accuracy: null, ortnode_differs: null, latency: {}, path: '', errors: { lowbit: "node 'Conv_3': unsupported", ortweb: 'no | kernel' },
    });
    const md = renderSection([failed], ENV, null);
    const c = cells(md, 'cnn-w2a2-qdq');
    expect([c[3], c[5], c[8], c[9], c[10]]).toEqual(['fails³', '—', '—', '—', 'fails³']);
    expect(md).toContain("³ Failures: cnn-w2a2-qdq, lowbit: node 'Conv_3': unsupported; cnn-w2a2-qdq, ortweb: no \\| kernel.");
  });

  it('says whether onnxruntime-node matches the Python numbers, and lists declined layers of quantized models only', () => {
    const same = renderSection([row('fmnist-mlp-w2a8-qdq.onnx', 'mlp', 'w2a8')], ENV, null);
    expect(same).toContain('scores exactly what Python');
    expect(same).toContain('on all 10,000 test images');
    expect(same).not.toContain('⁴');
    const basic = renderSection([row('fmnist-mlp-int4-qdq.onnx', 'mlp', 'int4', { ortnode_differs: 6, ortnode_basic_differs: 0 })], ENV, null);
    expect(basic).toContain('⁴ Against onnxruntime-node with graph optimizations at `basic`');
    const partial = renderSection([row('fmnist-mlp-w2a8-qdq.onnx', 'mlp', 'w2a8', { images: 500 })], { ...ENV, images: 500 }, null);
    expect(partial).toContain('on the first 500 test images');
    expect(partial).not.toContain('scores exactly what Python');
    const fp32 = row('fmnist-mlp-fp32.onnx', 'mlp', 'fp32', { float_layers: ['Gemm_0 (Gemm): binary: no'] });
    const w2a2 = row('fmnist-mlp-w2a2-qdq.onnx', 'mlp', 'w2a2', { ortnode_accuracy: 0.91, float_layers: ['Gemm_1 (Gemm): qdq-int8: no'] });
    const md = renderSection([fp32, w2a2], ENV, '![chart](accuracy.svg)');
    expect(md).toContain('differs from the Python onnxruntime number in `models.json` on mlp-w2a2-qdq (90.00 %)');
    expect(md).toContain('- mlp-w2a2-qdq: Gemm_1 (Gemm): qdq-int8: no');
    expect(md).not.toContain('Gemm_0');
    expect(md).toContain('![chart](accuracy.svg)');
    expect(md).toContain('load average 6.5 before, 6.3 after');
    expect(md).toContain('`tgemm_t2i8` ternary×int8→int32');
  });

  it('formats bytes in decimal units with three significant digits', () => {
    expect([bytes(999), bytes(96730), bytes(1086865), bytes(null)]).toEqual(['999 B', '96.7 kB', '1.09 MB', '—']);
  });
});

describe('eval: accuracy chart', () => {
  it('draws one bar per working model and one reference tick per known reference, on an axis it labels', () => {
    const rows = [
      row('fmnist-mlp-fp32.onnx', 'mlp', 'fp32', { lowbit_accuracy: 0.8984, ortnode_accuracy: 0.8984 }),
      row('fmnist-mlp-w1a1-qonnx.onnx', 'mlp', 'w1a1', { lowbit_accuracy: 0.8897, reference_accuracy: 0.8897 }),
      row('fmnist-cnn-fp32.onnx', 'cnn', 'fp32', { lowbit_accuracy: null, ortnode_accuracy: 0.9275 }),
    ];
    const svg = accuracyChart(rows);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<rect x=/g)).toHaveLength(2);
    expect(svg.match(/<line [^>]*stroke="#111"/g)).toHaveLength(3);
    expect(svg).toContain('lowbit fails');
    expect(svg).toContain('The axis starts at 85 %.');
    expect(svg).toContain('>88.97 %<');
  });
});

describe('eval: README section between markers', () => {
  const doc = ['# Models', 'prose before', `${BEGIN_MARKER} — generated -->`, 'old table', 'old chart', END_MARKER, 'prose after', ''].join('\n');

  it('replaces only what lies between the markers, and is idempotent', () => {
    const once = replaceSection(doc, 'new\ntable');
    expect(once).toBe(['# Models', 'prose before', `${BEGIN_MARKER} — generated -->`, 'new\ntable', END_MARKER, 'prose after', ''].join('\n'));
    expect(replaceSection(once, 'new\ntable')).toBe(once);
  });

  it('refuses a document without exactly one pair of markers in order', () => {
    expect(() => replaceSection('# Models\n', 'x')).toThrow(/found 0 and 0/);
    expect(() => replaceSection(`${doc}\n${END_MARKER}\n`, 'x')).toThrow(/found 1 and 2/);
    expect(() => replaceSection(`${END_MARKER}\n${BEGIN_MARKER} -->\n`, 'x')).toThrow(/comes before/);
  });

  it('models/README.md has its markers', () => {
    const readme = readFileSync(new URL('../models/README.md', import.meta.url), 'utf8');
    expect(() => replaceSection(readme, '')).not.toThrow();
  });
});
