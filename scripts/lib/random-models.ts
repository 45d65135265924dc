// Random fp32 models with fixed seeds, for differential tests and benchmarks: an MLP, a small CNN
// and a pre-norm transformer block, built with OnnxBuilder.
//
// Each generator is split in two so quantized variants can reuse it: `*Weights(config)` draws
// every weight from the seed (plain Float32Arrays, exposed to the caller), and `build*(weights,
// hooks)` emits the graph. `hooks.weight` decides how a weight tensor enters the graph (default:
// an fp32 initializer; a quantized variant emits int4/int8 data + DequantizeLinear instead), and
// `hooks.matmul` how `x · W` with a constant W is computed (default MatMul; a variant can emit
// MatMulNBits).
//
// Weights are drawn U(−a, a) with a = √(3 / fan_in) (variance 1/fan_in), so activations stay O(1)
// through every layer and an error of one ulp in a weight shows up at the scale of the outputs.

import { seededRandom } from '../../src/cli/seeded-random.js';
import { OnnxBuilder } from './onnx-builder.js';

/** Deterministic PRNG (mulberry32): uniform in [0, 1); the CLI's, so both draw the same sequences. */
export { seededRandom };

/** A named fp32 weight tensor. */
export interface Weight {
  name: string;
  dims: number[];
  data: Float32Array;
}

export interface BuildHooks {
  opset?: number;
  /** Puts a weight into the graph and returns the value name (default: fp32 initializer). */
  weight?: (b: OnnxBuilder, w: Weight) => string;
  /** Emits x · W for a constant W of dims [K, N] (default: MatMul of x and hooks.weight(W)). */
  matmul?: (b: OnnxBuilder, x: string, w: Weight, hooks: BuildHooks) => string;
}

export interface RandomModel {
  bytes: Uint8Array;
  inputs: { name: string; dims: (number | string)[] }[];
  outputs: { name: string; dims: (number | string)[] }[];
  /** Every weight the graph uses (as drawn, before any hook transformed it). */
  weights: Weight[];
}

const OPSET = 21;

function uniform(r: () => number, n: number, a: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * a;
  return out;
}

function weight(r: () => number, name: string, dims: number[], fanIn: number): Weight {
  const n = dims.reduce((p, d) => p * d, 1);
  return { name, dims, data: uniform(r, n, Math.sqrt(3 / fanIn)) };
}

function bias(r: () => number, name: string, n: number, a = 0.5): Weight {
  return { name, dims: [n], data: uniform(r, n, a) };
}

function putWeight(b: OnnxBuilder, w: Weight, hooks: BuildHooks): string {
  return hooks.weight ? hooks.weight(b, w) : b.init(w.name, 'float32', w.dims, w.data);
}

function matmulConst(b: OnnxBuilder, x: string, w: Weight, hooks: BuildHooks): string {
  return hooks.matmul ? hooks.matmul(b, x, w, hooks) : b.op('MatMul', [x, putWeight(b, w, hooks)]);
}

// ---- MLP -----------------------------------------------------------------------------------

export type Activation = 'Relu' | 'Gelu' | 'Tanh' | 'Sigmoid';

export interface MlpConfig {
  seed: number;
  /** Layer widths, input first: [784, 128, 64, 10] is three layers. */
  sizes: number[];
  /** Activation after each hidden layer (cycled); the last layer has none. */
  activations: Activation[];
}

export interface MlpLayer {
  /** 'matmul': MatMul(x, W[K,N]) + Add(b). 'gemm': Gemm(x, W[N,K], b, transB=1), PyTorch's layout. */
  kind: 'matmul' | 'gemm';
  w: Weight;
  b: Weight;
  activation?: Activation;
}

export interface MlpWeights {
  config: MlpConfig;
  layers: MlpLayer[];
}

export const MLP_DEFAULT: MlpConfig = { seed: 1, sizes: [48, 40, 33, 24, 17, 10], activations: ['Relu', 'Gelu', 'Tanh', 'Sigmoid'] };

export function mlpWeights(config: Partial<MlpConfig> = {}): MlpWeights {
  const cfg = { ...MLP_DEFAULT, ...config };
  const r = seededRandom(cfg.seed);
  const layers: MlpLayer[] = [];
  for (let i = 0; i + 1 < cfg.sizes.length; i++) {
    const [k, n] = [cfg.sizes[i], cfg.sizes[i + 1]];
    const kind = i % 2 === 0 ? 'matmul' : 'gemm';
    const last = i + 2 === cfg.sizes.length;
    layers.push({
      kind,
      w: weight(r, `fc${i}.weight`, kind === 'matmul' ? [k, n] : [n, k], k),
      b: bias(r, `fc${i}.bias`, n),
      activation: last ? undefined : cfg.activations[i % cfg.activations.length],
    });
  }
  return { config: cfg, layers };
}

/** x [batch, sizes[0]] → logits [batch, sizes.at(-1)], batch symbolic. */
export function buildMlp(weights: MlpWeights, hooks: BuildHooks = {}): RandomModel {
  const b = new OnnxBuilder({ opset: hooks.opset ?? OPSET, name: 'random_mlp' });
  const sizes = weights.config.sizes;
  let h = b.input('x', 'float32', ['batch', sizes[0]]);
  for (const [i, l] of weights.layers.entries()) {
    const name = i + 1 === weights.layers.length ? { outputs: ['logits'] } : {};
    if (l.kind === 'matmul') h = b.op('Add', [matmulConst(b, h, l.w, hooks), putWeight(b, l.b, hooks)], {}, name);
    else h = b.op('Gemm', [h, putWeight(b, l.w, hooks), putWeight(b, l.b, hooks)], { transB: 1 }, name);
    if (l.activation) h = b.op(l.activation, [h]);
  }
  const outDims = ['batch', sizes[sizes.length - 1]];
  b.output(h, 'float32', outDims);
  return {
    bytes: b.toBytes(),
    inputs: [{ name: 'x', dims: ['batch', sizes[0]] }],
    outputs: [{ name: h, dims: outDims }],
    weights: weights.layers.flatMap((l) => [l.w, l.b]),
  };
}

export const randomMlp = (config: Partial<MlpConfig> = {}, hooks: BuildHooks = {}): RandomModel => buildMlp(mlpWeights(config), hooks);

// ---- CNN -----------------------------------------------------------------------------------

export interface ConvBlockConfig {
  channels: number;
  kernel: number;
  stride: number;
  pad: number;
  /** Conv bias input present. */
  bias: boolean;
  pool: 'max' | 'avg';
}

export interface CnnConfig {
  seed: number;
  inChannels: number;
  height: number;
  width: number;
  blocks: ConvBlockConfig[];
  classes: number;
}

export interface ConvBlock {
  config: ConvBlockConfig;
  /** [M, C, kH, kW] */
  w: Weight;
  b?: Weight;
  /** BatchNormalization scale, B, input_mean, input_var (var > 0). */
  bn: { scale: Weight; bias: Weight; mean: Weight; variance: Weight };
}

export interface CnnWeights {
  config: CnnConfig;
  blocks: ConvBlock[];
  /** Classifier Gemm, PyTorch layout [classes, channels] with transB=1. */
  fc: { w: Weight; b: Weight };
}

export const CNN_DEFAULT: CnnConfig = {
  seed: 2,
  inChannels: 3,
  height: 16,
  width: 15,
  blocks: [
    { channels: 8, kernel: 3, stride: 1, pad: 1, bias: true, pool: 'max' },
    { channels: 12, kernel: 3, stride: 2, pad: 1, bias: false, pool: 'avg' },
  ],
  classes: 10,
};

export const BN_EPSILON = 1e-5;

export function cnnWeights(config: Partial<CnnConfig> = {}): CnnWeights {
  const cfg = { ...CNN_DEFAULT, ...config };
  const r = seededRandom(cfg.seed);
  let c = cfg.inChannels;
  const blocks = cfg.blocks.map((bc, i): ConvBlock => {
    const fanIn = c * bc.kernel * bc.kernel;
    const m = bc.channels;
    const block: ConvBlock = {
      config: bc,
      w: weight(r, `conv${i}.weight`, [m, c, bc.kernel, bc.kernel], fanIn),
      b: bc.bias ? bias(r, `conv${i}.bias`, m) : undefined,
      bn: {
        scale: { name: `bn${i}.scale`, dims: [m], data: uniform(r, m, 0.5).map((v) => 1 + v) },
        bias: bias(r, `bn${i}.bias`, m),
        mean: bias(r, `bn${i}.mean`, m, 0.3),
        variance: { name: `bn${i}.var`, dims: [m], data: uniform(r, m, 0.4).map((v) => 1 + v) },
      },
    };
    c = m;
    return block;
  });
  return { config: cfg, blocks, fc: { w: weight(r, 'fc.weight', [cfg.classes, c], c), b: bias(r, 'fc.bias', cfg.classes) } };
}

/**
 * x [batch, C, H, W] → per block Conv → BatchNormalization → Relu → MaxPool/AveragePool (2×2,
 * stride 2) → GlobalAveragePool → Flatten → Gemm → logits [batch, classes]. batch symbolic.
 */
export function buildCnn(weights: CnnWeights, hooks: BuildHooks = {}): RandomModel {
  const cfg = weights.config;
  const b = new OnnxBuilder({ opset: hooks.opset ?? OPSET, name: 'random_cnn' });
  const inDims = ['batch', cfg.inChannels, cfg.height, cfg.width];
  let h = b.input('x', 'float32', inDims);
  for (const blk of weights.blocks) {
    const { kernel: k, stride: s, pad: p } = blk.config;
    const convIn = [h, putWeight(b, blk.w, hooks), ...(blk.b ? [putWeight(b, blk.b, hooks)] : [])];
    h = b.op('Conv', convIn, { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p] });
    const bn = blk.bn;
    h = b.op('BatchNormalization', [h, ...[bn.scale, bn.bias, bn.mean, bn.variance].map((w) => putWeight(b, w, hooks))], { epsilon: BN_EPSILON });
    h = b.op('Relu', [h]);
    h = b.op(blk.config.pool === 'max' ? 'MaxPool' : 'AveragePool', [h], { kernel_shape: [2, 2], strides: [2, 2] });
  }
  h = b.op('Flatten', [b.op('GlobalAveragePool', [h])], { axis: 1 });
  const out = b.op('Gemm', [h, putWeight(b, weights.fc.w, hooks), putWeight(b, weights.fc.b, hooks)], { transB: 1 }, { outputs: ['logits'] });
  const outDims = ['batch', cfg.classes];
  b.output(out, 'float32', outDims);
  return {
    bytes: b.toBytes(),
    inputs: [{ name: 'x', dims: inDims }],
    outputs: [{ name: out, dims: outDims }],
    weights: [
      ...weights.blocks.flatMap((blk) => [blk.w, ...(blk.b ? [blk.b] : []), blk.bn.scale, blk.bn.bias, blk.bn.mean, blk.bn.variance]),
      weights.fc.w,
      weights.fc.b,
    ],
  };
}

export const randomCnn = (config: Partial<CnnConfig> = {}, hooks: BuildHooks = {}): RandomModel => buildCnn(cnnWeights(config), hooks);

// ---- transformer block -----------------------------------------------------------------------

export interface TransformerConfig {
  seed: number;
  dModel: number;
  heads: number;
  /** Hidden width of the MLP. */
  ffn: number;
}

export interface TransformerWeights {
  config: TransformerConfig;
  ln1: { scale: Weight; bias: Weight };
  /** Projections in x · W layout: [dModel, dModel]. */
  q: { w: Weight; b: Weight };
  k: { w: Weight; b: Weight };
  v: { w: Weight; b: Weight };
  o: { w: Weight; b: Weight };
  ln2: { scale: Weight; bias: Weight };
  /** [dModel, ffn] and [ffn, dModel]. */
  fc1: { w: Weight; b: Weight };
  fc2: { w: Weight; b: Weight };
}

export const TRANSFORMER_DEFAULT: TransformerConfig = { seed: 3, dModel: 32, heads: 4, ffn: 72 };

export const LN_EPSILON = 1e-5;

export function transformerWeights(config: Partial<TransformerConfig> = {}): TransformerWeights {
  const cfg = { ...TRANSFORMER_DEFAULT, ...config };
  if (cfg.dModel % cfg.heads !== 0) throw new Error(`dModel ${cfg.dModel} is not a multiple of heads ${cfg.heads}`);
  const r = seededRandom(cfg.seed);
  const d = cfg.dModel;
  const lin = (name: string, k: number, n: number) => ({ w: weight(r, `${name}.weight`, [k, n], k), b: bias(r, `${name}.bias`, n, 0.2) });
  const ln = (name: string) => ({
    scale: { name: `${name}.scale`, dims: [d], data: uniform(r, d, 0.3).map((v) => 1 + v) },
    bias: bias(r, `${name}.bias`, d, 0.2),
  });
  return {
    config: cfg,
    ln1: ln('ln1'),
    q: lin('attn.q', d, d),
    k: lin('attn.k', d, d),
    v: lin('attn.v', d, d),
    o: lin('attn.o', d, d),
    ln2: ln('ln2'),
    fc1: lin('mlp.fc1', d, cfg.ffn),
    fc2: lin('mlp.fc2', cfg.ffn, d),
  };
}

/**
 * Pre-norm block, x [batch, seq, d] with batch and seq symbolic:
 *   a = LN1(x);  Q,K,V = a·W{q,k,v} + b   → Reshape [b, s, H, d/H] → Transpose to heads
 *   P = Softmax(Q·Kᵀ · 1/√(d/H))  (K transposed to [b, H, d/H, s]);  ctx = P·V
 *   h = x + (ctx → [b, s, d]) · Wo + bo;   y = h + Gelu(LN2(h)·W1 + b1)·W2 + b2
 */
export function buildTransformer(weights: TransformerWeights, hooks: BuildHooks = {}): RandomModel {
  const cfg = weights.config;
  const [d, heads] = [cfg.dModel, cfg.heads];
  const dh = d / heads;
  const b = new OnnxBuilder({ opset: hooks.opset ?? OPSET, name: 'random_transformer' });
  const dims = ['batch', 'seq', d];
  const x = b.input('x', 'float32', dims);
  const w = (t: Weight) => putWeight(b, t, hooks);
  const linear = (h: string, l: { w: Weight; b: Weight }) => b.op('Add', [matmulConst(b, h, l.w, hooks), w(l.b)]);
  const layerNorm = (h: string, ln: { scale: Weight; bias: Weight }) => b.op('LayerNormalization', [h, w(ln.scale), w(ln.bias)], { axis: -1, epsilon: LN_EPSILON });
  // Reshape's 0 copies the input dim, so one constant shape serves every batch and sequence length.
  const toHeads = b.const('int64', [4], [0, 0, heads, dh]);
  const fromHeads = b.const('int64', [3], [0, 0, d]);
  const split = (h: string, perm: number[]) => b.op('Transpose', [b.op('Reshape', [h, toHeads])], { perm });

  const a = layerNorm(x, weights.ln1);
  const q = split(linear(a, weights.q), [0, 2, 1, 3]);
  const kT = split(linear(a, weights.k), [0, 2, 3, 1]);
  const v = split(linear(a, weights.v), [0, 2, 1, 3]);
  const scale = b.const('float32', [], [1 / Math.sqrt(dh)]);
  const p = b.op('Softmax', [b.op('Mul', [b.op('MatMul', [q, kT]), scale])], { axis: -1 });
  const ctx = b.op('Reshape', [b.op('Transpose', [b.op('MatMul', [p, v])], { perm: [0, 2, 1, 3] }), fromHeads]);
  const h = b.op('Add', [x, linear(ctx, weights.o)]);
  const m = linear(b.op('Gelu', [linear(layerNorm(h, weights.ln2), weights.fc1)]), weights.fc2);
  const y = b.op('Add', [h, m], {}, { outputs: ['y'] });
  b.output(y, 'float32', dims);
  const tw = weights;
  return {
    bytes: b.toBytes(),
    inputs: [{ name: 'x', dims }],
    outputs: [{ name: y, dims }],
    weights: [tw.ln1.scale, tw.ln1.bias, ...[tw.q, tw.k, tw.v, tw.o].flatMap((l) => [l.w, l.b]), tw.ln2.scale, tw.ln2.bias, tw.fc1.w, tw.fc1.b, tw.fc2.w, tw.fc2.b],
  };
}

export const randomTransformer = (config: Partial<TransformerConfig> = {}, hooks: BuildHooks = {}): RandomModel =>
  buildTransformer(transformerWeights(config), hooks);
