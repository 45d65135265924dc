// Model side of `npm run lmul:study`: activations of the Fashion-MNIST fp32 models (the inputs of
// every MatMul/Gemm/Conv, with that layer's weights), test-set accuracy with L-Mul, and a small
// attention classifier (random attention weights, a least-squares readout fitted on the training
// set) for L-Mul in attention only.

import { InferenceSession, Tensor, type LmulOptions } from '../../src/index.js';
import type { Graph } from '../../src/ir/graph.js';
import { toNumbers } from '../../src/ir/tensor.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { Engine } from '../../src/session/engine.js';
import { kernelModule } from '../lib/kernel-box.js';
import { toInput, type Images } from '../lib/fmnist.js';
import { OnnxBuilder } from '../lib/onnx-builder.js';
import { seededRandom } from '../lib/random-models.js';

export interface LayerData {
  layer: string;
  /** The layer's input activations over the images (ReLU zeros included). */
  act: Float32Array;
  weight: Float32Array;
}

const LAYERS = new Set(['MatMul', 'Gemm', 'Conv']);

/** Runs the model on `count` images and returns every GEMM-like layer's input and weights. */
export function captureLayers(bytes: Uint8Array, images: Images, count: number): LayerData[] {
  const g: Graph = decodeModel(bytes).graph;
  const layers = g.nodes.filter((n) => n.domain === '' && LAYERS.has(n.opType) && g.initializers.has(n.inputs[1]));
  const weights = layers.map((n) => new Float32Array(toNumbers(g.initializers.get(n.inputs[1])!)));
  for (const n of layers) g.outputs.push({ name: n.inputs[0], dtype: 'float32', shape: null });
  const engine = new Engine(g, kernelModule('simd'), 'simd', { passes: [] });
  const x = toInput(images, 0, count);
  const out = engine.run(new Map([[g.inputs[0].name, { dtype: 'float32', dims: [count, 1, 28, 28], bytes: new Uint8Array(x.buffer) }]]));
  return layers.map((n, i) => {
    const f = out.get(n.inputs[0])!;
    return { layer: `${n.opType} ${n.name || n.inputs[1]}`, act: new Float32Array(f.bytes.buffer.slice(f.bytes.byteOffset, f.bytes.byteOffset + f.bytes.byteLength)), weight: weights[i] };
  });
}

/** Top-1 accuracy and predicted classes on `images`, batches of 500; `onBatch(done)` reports progress. */
export async function accuracy(
  model: Uint8Array, images: Images, lmul: LmulOptions | undefined, onBatch: (done: number) => void,
): Promise<{ acc: number; preds: Uint8Array }> {
  const s = await InferenceSession.create(model, { backend: 'simd', lmul });
  let right = 0;
  const preds = new Uint8Array(images.count);
  const B = 500;
  for (let from = 0; from < images.count; from += B) {
    const n = Math.min(B, images.count - from);
    const out = await s.run({ [s.inputNames[0]]: new Tensor('float32', toInput(images, from, n), [n, 1, 28, 28]) });
    const scores = out[s.outputNames[0]].data as Float32Array;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < 10; j++) if (scores[i * 10 + j] > scores[i * 10 + best]) best = j;
      preds[from + i] = best;
      if (best === images.labels[from + i]) right++;
    }
    onBatch(from + n);
  }
  await s.release();
  return { acc: right / images.count, preds };
}

const T = 28, D = 32, H = 128;

/**
 * Attention classifier: an image is 28 tokens (its rows, 28 pixels each, centred); Q, K, V =
 * x·Wq, x·Wk, x·Wv (28→32), softmax(Q·Kᵀ/√32)·V (peaked: scores of std ≈ 3), ReLU(·W1) (32→128), mean over tokens, then
 * (with `readout`) a Gemm to 10 scores. Wq, Wk, Wv, W1 are seeded random; only the readout is fitted.
 */
export function attentionModel(readout?: { w: Float32Array; b: Float32Array }): Uint8Array {
  const r = seededRandom(2024);
  const rand = (n: number, s: number) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * s);
  const b = new OnnxBuilder({ opset: 17 });
  const x0 = b.input('input', 'float32', ['N', 1, 28, 28]);
  const x = b.op('Reshape', [b.op('Sub', [x0, b.init('mean', 'float32', [], [0.286])]), b.init('shape', 'int64', [3], [0, 28, 28])]);
  // Q and K 3× larger than V: scores of std ≈ 3, so the softmax is peaked, not an average.
  const proj = (name: string, s: number) => b.op('MatMul', [x, b.init(`w${name}`, 'float32', [T, D], rand(T * D, s / Math.sqrt(T)))], {}, { name });
  const q = proj('q', 9), k = proj('k', 9), v = proj('v', 3);
  const scores = b.op('MatMul', [q, b.op('Transpose', [k], { perm: [0, 2, 1] })], {}, { name: 'scores' });
  const p = b.op('Softmax', [b.op('Div', [scores, b.init('sqrt_d', 'float32', [], [Math.sqrt(D)])])], { axis: -1 });
  const ctx = b.op('MatMul', [p, v], {}, { name: 'context' });
  const h = b.op('Relu', [b.op('MatMul', [ctx, b.init('w1', 'float32', [D, H], rand(D * H, 1 / Math.sqrt(D)))], {}, { name: 'mlp' })]);
  const feat = b.op('ReduceMean', [h], { axes: [1], keepdims: 0 }, { outputs: readout ? undefined : ['features'] });
  if (!readout) {
    b.output(feat, 'float32', null);
    return b.toBytes();
  }
  const y = b.op('Gemm', [feat, b.init('wr', 'float32', [H, 10], readout.w), b.init('br', 'float32', [10], readout.b)], {}, { name: 'readout', outputs: ['scores'] });
  b.output(y, 'float32', null);
  return b.toBytes();
}

/** Ridge regression of one-hot labels on the fp32 features of `train`: the readout weights. */
export async function fitReadout(train: Images, count: number, onBatch: (done: number) => void): Promise<{ w: Float32Array; b: Float32Array }> {
  const s = await InferenceSession.create(attentionModel(), { backend: 'simd' });
  const F = H + 1;
  const ata = new Float64Array(F * F), atb = new Float64Array(F * 10);
  const B = 500;
  for (let from = 0; from < count; from += B) {
    const n = Math.min(B, count - from);
    const f = (await s.run({ input: new Tensor('float32', toInput(train, from, n), [n, 1, 28, 28]) })).features.data as Float32Array;
    for (let i = 0; i < n; i++) {
      const row = [...f.subarray(i * H, i * H + H), 1];
      for (let a = 0; a < F; a++) {
        for (let c = 0; c < F; c++) ata[a * F + c] += row[a] * row[c];
        atb[a * 10 + train.labels[from + i]] += row[a];
      }
    }
    onBatch(from + n);
  }
  await s.release();
  for (let a = 0; a < F; a++) ata[a * F + a] += 1e-3 * count;
  const sol = solve(ata, atb, F, 10);
  return { w: Float32Array.from(sol.subarray(0, H * 10)), b: Float32Array.from(sol.subarray(H * 10)) };
}

/** Solves A·X = B (A n×n symmetric positive definite, B n×k) by Gaussian elimination. */
function solve(A: Float64Array, B: Float64Array, n: number, k: number): Float64Array {
  const a = A.slice(), b = B.slice();
  for (let i = 0; i < n; i++) {
    const piv = a[i * n + i];
    for (let r = i + 1; r < n; r++) {
      const f = a[r * n + i] / piv;
      if (f === 0) continue;
      for (let c = i; c < n; c++) a[r * n + c] -= f * a[i * n + c];
      for (let c = 0; c < k; c++) b[r * k + c] -= f * b[i * k + c];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let c = 0; c < k; c++) {
      let s = b[i * k + c];
      for (let j = i + 1; j < n; j++) s -= a[i * n + j] * b[j * k + c];
      b[i * k + c] = s / a[i * n + i];
    }
  }
  return b;
}
