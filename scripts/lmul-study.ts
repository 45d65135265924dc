// npm run lmul:study — how precise is L-Mul (assembly/lmul.ts)? Writes docs/lmul-study.md (tables)
// and docs/lmul-study.svg (mean relative error of single products against mantissa bits).
//
//   npm run lmul:study [-- --quick]    (--quick: fewer samples, the 256-image subset)
//
// 1. Single products and dot products (length 64…4096) on normal data and on real activation ×
//    weight data of the Fashion-MNIST fp32 models, L-Mul m = 2…7 beside float8 e4m3 / e5m2 and
//    bfloat16 (definitions in scripts/lmul/errors.ts).
// 2. The paper's claims checked against those numbers.
// 3. Test-set accuracy of the fp32 MLP and CNN with L-Mul in every MatMul/Gemm/Conv (m = 2…5),
//    and of a small attention classifier with L-Mul in attention only.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { KernelBox } from './lib/kernel-box.js';
import { loadSplit, loadSubset, type Images } from './lib/fmnist.js';
import { seededRandom } from './lib/random-models.js';
import {
  amax, BF16, dotError, E4M3, E5M2, FORMATS, formatMethod, lmulKernel, lmulRne, productError, type Method, type Stat,
} from './lmul/errors.js';
import type { LmulOptions } from '../src/index.js';
import { accuracy, attentionModel, captureLayers, fitReadout, type LayerData } from './lmul/models.js';
import { lineChart } from './lmul/chart.js';

const quick = process.argv.includes('--quick');
const MS = [2, 3, 4, 5, 6, 7];
const PAIRS = quick ? 20_000 : 200_000;
const DOT_LENGTHS = [64, 256, 1024, 4096];
const DOTS = quick ? 20 : 100;

const t0 = performance.now();
const log = (msg: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);

const r = seededRandom(7);
function normal(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}
const pick = (a: Float32Array) => a[Math.floor(r() * a.length)];

/** x from activations, y from the same layer's weights, both ≠ 0 when `nonzero`. */
function realPairs(layers: LayerData[], n: number, nonzero: boolean): [Float32Array, Float32Array] {
  const x = new Float32Array(n), y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const l = layers[Math.floor(r() * layers.length)];
    do x[i] = pick(l.act); while (nonzero && x[i] === 0);
    do y[i] = pick(l.weight); while (nonzero && y[i] === 0);
  }
  return [x, y];
}

/** Dot-product vectors: activations and weights of one layer (zeros kept, as the layer sees them). */
function realDots(layers: LayerData[], len: number, count: number): [Float32Array, Float32Array][] {
  return Array.from({ length: count }, () => {
    const l = layers[Math.floor(r() * layers.length)];
    return [Float32Array.from({ length: len }, () => pick(l.act)), Float32Array.from({ length: len }, () => pick(l.weight))];
  });
}

const box = new KernelBox('simd');
const methods: Method[] = [
  ...MS.map((m) => lmulKernel(box, m)),
  ...MS.map((m) => lmulRne(m)),
  ...FORMATS.map((f) => formatMethod(f)),
];

const fmt = (x: number) => (x === 0 ? '0' : x >= 0.01 ? `${(100 * x).toFixed(2)} %` : `${(100 * x).toPrecision(2)} %`);
const cell = (s: Stat) => `${fmt(s.mean)} / ${fmt(s.max)}`;

async function main(): Promise<void> {
  const test: Images = quick ? loadSubset() : loadSplit('test');
  const train = quick ? undefined : loadSplit('train');
  log(`data: ${test.count} test images${train ? `, ${train.count} training images` : ''}${quick ? ' (--quick)' : ''}`);

  const models = { mlp: readFileSync('models/fmnist-mlp-fp32.onnx'), cnn: readFileSync('models/fmnist-cnn-fp32.onnx') };
  const layers = [...captureLayers(models.mlp, test, 64), ...captureLayers(models.cnn, test, 64)];
  log(`captured ${layers.length} layers' inputs and weights (64 test images): ${layers.map((l) => l.layer).join(', ')}`);

  // 1. Single products.
  const [nx, ny] = [normal(PAIRS), normal(PAIRS)];
  const [ax, ay] = realPairs(layers, PAIRS, true);
  const scale = { n: [amax(nx), amax(ny)], a: [amax(ax), amax(ay)] };
  const single = methods.map((mt, i) => {
    log(`single products ${i + 1}/${methods.length}: ${mt.name}`);
    return { name: mt.name, normal: productError(mt, nx, ny, scale.n[0], scale.n[1]), act: productError(mt, ax, ay, scale.a[0], scale.a[1]) };
  });

  // Dot products.
  const dots = DOT_LENGTHS.map((len) => {
    const nd: [Float32Array, Float32Array][] = Array.from({ length: DOTS }, () => [normal(len), normal(len)]);
    const ad = realDots(layers, len, DOTS);
    // float8 scales: the amax over all vectors of the length (one tensor each side).
    const sn = [Math.max(...nd.map((p) => amax(p[0]))), Math.max(...nd.map((p) => amax(p[1])))];
    const sa = [Math.max(...ad.map((p) => amax(p[0]))), Math.max(...ad.map((p) => amax(p[1])))];
    return {
      len,
      rows: methods.map((mt) => {
        log(`dot products n=${len}: ${mt.name}`);
        return { name: mt.name, normal: dotError(mt, nd, sn[0], sn[1]), act: dotError(mt, ad, sa[0], sa[1]) };
      }),
    };
  });

  // 3. End to end.
  const progress = (label: string) => (done: number) => log(`${label}: ${done}/${test.count} images`);
  const e2e: E2e[] = [];
  /** Accuracy, and how many predictions differ from the fp32 run (the first of each model). */
  const measure = async (model: string, config: string, bytes: Uint8Array, lmul: LmulOptions | undefined) => {
    const { acc, preds } = await accuracy(bytes, test, lmul, progress(`${model} ${config}`));
    const base = lmul ? e2e.find((e) => e.model === model)?.preds : undefined;
    e2e.push({ model, config, acc, preds, differs: base ? preds.reduce((n, p, i) => n + (p !== base[i] ? 1 : 0), 0) : 0 });
  };
  for (const [name, bytes] of Object.entries(models)) {
    for (const m of [0, ...MS.slice(0, 4)]) {
      const config = m === 0 ? 'fp32' : `L-Mul m=${m}, all MatMul/Gemm/Conv`;
      await measure(`${name}-fp32`, config, bytes, m ? { mantissaBits: m } : undefined);
    }
  }
  const fitImages = train ?? test;
  const fitCount = train ? 20_000 : test.count;
  const readout = await fitReadout(fitImages, fitCount, (d) => log(`attention readout fit: ${d}/${fitCount} images`));
  const att = attentionModel(readout);
  for (const m of [0, ...MS.slice(0, 4)]) {
    const config = m === 0 ? 'fp32' : `L-Mul m=${m}, attention only`;
    await measure('attention (random Q/K/V, fitted readout)', config, att, m ? { mantissaBits: m, ops: ['attention'] } : undefined);
  }

  mkdirSync('docs', { recursive: true });
  writeFileSync('docs/lmul-study.md', render(single, dots, e2e, test.count, fitCount, train !== undefined));
  writeFileSync('docs/lmul-study.svg', lineChart(MS, single));
  log('wrote docs/lmul-study.md and docs/lmul-study.svg');
}

type Row = { name: string; normal: Stat; act: Stat };
type E2e = { model: string; config: string; acc: number; preds: Uint8Array; differs: number };

function verdict(single: Row[], lm: string, f: string, claim: string, better: boolean): string {
  const a = single.find((s) => s.name === lm)!, b = single.find((s) => s.name === f)!;
  const cmp = (x: Stat, y: Stat) => (x.mean <= y.mean ? 'lower' : 'higher');
  const holds = (x: Stat, y: Stat) => (better ? x.mean <= y.mean : x.mean <= 1.25 * y.mean);
  const ok = holds(a.normal, b.normal) && holds(a.act, b.act);
  return `- *${claim}*: ${lm} has mean error ${fmt(a.normal.mean)} (normal) / ${fmt(a.act.mean)} (activations), ${cmp(a.normal, b.normal)} / ${cmp(a.act, b.act)} than ${f}'s ${fmt(b.normal.mean)} / ${fmt(b.act.mean)}. **${ok ? 'Our numbers agree.' : 'Our numbers do not agree.'}**`;
}

function render(single: Row[], dots: { len: number; rows: Row[] }[], e2e: E2e[], images: number, fitCount: number, full: boolean): string {
  const lines = [
    '# L-Mul accuracy study',
    '',
    'Generated by `npm run lmul:study` (scripts/lmul-study.ts); definitions in scripts/lmul/errors.ts.',
    'L-Mul is assembly/lmul.ts: operand mantissas **truncated** to m bits, zero/subnormal operands flushed, one integer add.',
    '"RNE operands" rounds the operands to m bits (nearest-even) before the same add. float8: per-tensor scaling (amax →',
    'largest finite value), round to nearest-even, exact products, f32 sums — an fp8 GEMM. bfloat16: operands rounded,',
    'exact products. Cells: mean / max relative error.',
    '',
    `## Single products (${PAIRS.toLocaleString('en-US')} pairs each)`,
    '',
    'Normal: x, y ~ N(0, 1). Activations: a MatMul/Gemm/Conv input value × a weight of the same layer of the fp32',
    'Fashion-MNIST MLP and CNN (both ≠ 0). Error |p̂ − xy| / |xy|.',
    '',
    '| method | normal data | activations × weights |',
    '|---|---:|---:|',
    ...single.map((s) => `| ${s.name} | ${cell(s.normal)} | ${cell(s.act)} |`),
    '',
    '![mean relative error of single products](lmul-study.svg)',
    '',
    `## Dot products (${DOTS} per length)`,
    '',
    'Error |d̂ − d| / Σ|xᵢyᵢ| (relative to the size of the terms; with random signs d itself can be ~0). Activation',
    'vectors keep their ReLU zeros. Sums in f32 for every method (L-Mul: lmul_dot_f32, 4 lane-wise partial sums).',
    '',
    `| method | ${dots.map((d) => `n=${d.len} normal`).join(' | ')} | ${dots.map((d) => `n=${d.len} act.`).join(' | ')} |`,
    `|---|${dots.map(() => '---:|').join('')}${dots.map(() => '---:|').join('')}`,
    ...dots[0].rows.map((row, i) => `| ${row.name} | ${dots.map((d) => cell(d.rows[i].normal)).join(' | ')} | ${dots.map((d) => cell(d.rows[i].act)).join(' | ')} |`),
    '',
    '## The paper\'s claims',
    '',
    verdict(single, 'L-Mul m=4', E4M3.name, 'L-Mul with a 4-bit mantissa is about as precise as float8 e4m3 (within 25 % of its mean error)', false),
    verdict(single, 'L-Mul m=3', E5M2.name, 'L-Mul with a 3-bit mantissa is more precise than float8 e5m2', true),
    verdict(single, 'L-Mul m=4, RNE operands', E4M3.name, 'the same with rounded operands (m=4 vs e4m3)', false),
    verdict(single, 'L-Mul m=3, RNE operands', E5M2.name, 'the same with rounded operands (m=3 vs e5m2)', true),
    `- For reference, ${BF16.name}: ${fmt(single.find((s) => s.name === BF16.name)!.normal.mean)} mean error on normal data.`,
    '',
    `## End to end: Fashion-MNIST test accuracy (${images.toLocaleString('en-US')} images${full ? ', the full test set' : ', the committed subset'})`,
    '',
    'The attention model: images as 28 tokens of 28 pixels, seeded random Q/K/V (28→32) and MLP (32→128, ReLU)',
    `weights, mean over tokens, and a readout fitted by ridge regression on the fp32 features of ${fitCount.toLocaleString('en-US')} ${full ? 'training' : 'test'} images.`,
    'L-Mul there runs only in the two attention MatMuls (Q·Kᵀ and ·V).',
    '',
    '| model | products | accuracy | predictions ≠ fp32 |',
    '|---|---|---:|---:|',
    ...e2e.map((e) => `| ${e.model} | ${e.config} | ${(100 * e.acc).toFixed(2)} % | ${e.config === 'fp32' ? '—' : e.differs} |`),
    '',
  ];
  return lines.join('\n');
}

void main();
