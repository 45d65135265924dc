// Models for the binary-chain tests: binary CNNs and MLPs whose layers feed each other through
// per-channel ops and a bipolar sign, in the ai.onnx form (Where(Less(x, 0), −1, +1)) or the
// QONNX form (BipolarQuant on activations and weights).
//
// Exactness of the references. Weights are ±s_n with s_n = (1 + j/128)·2^−e (or powers of two in
// the QONNX form) and biases multiples of 2^−8, so every conv/matmul value is exact in f32 in any
// summation order. With `dyadic` BatchNorm parameters (γ = ±2^a, var + ε = 4^b, mean and β
// multiples of 2^−6) every BatchNorm value is exact too, so onnxruntime and lowbit agree to the
// bit whatever order they compute in; some means sit exactly on a reachable value, so signs of
// exact zeros are exercised. Random BatchNorm parameters round, and are compared against lowbit
// running the same ops one by one.

import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { rng } from './kernels.js';

export const QONNX = 'qonnx.custom_op.general';

export interface ChainSpec {
  form: 'where' | 'qonnx';
  /** BatchNorm parameters that keep every value exact (see the top), or random ones. */
  dyadic: boolean;
  /** QONNX: activation scales as a graph input, so no rule fires and the ops run as written. */
  literal?: boolean;
  /** CNN: where the second BatchNorm goes relative to the MaxPool (its γ has negative entries). */
  bn2?: 'none' | 'before-pool' | 'after-pool';
  /** CNN: group of conv2; how the pooled map becomes fc's rows: Flatten, Reshape [0, −1], or
   *  Reshape [−1, 256] (two rows per image, fc K = 256). MLP: a Reshape [0, −1] after bn1. */
  group2?: number;
  head?: 'flatten' | 'reshape' | 'rows';
  reshape?: boolean;
  /** Values also exposed as graph outputs. */
  extraOutputs?: string[];
  seed?: number;
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

class Net {
  readonly b: OnnxBuilder;
  readonly r: () => number;
  /** The last layer's y = dot·scale[n] + bias[n] (QONNX: with the 0.5 activation scale in). */
  private layerScale: number[] = [];
  private layerBias: number[] = [];
  constructor(readonly spec: ChainSpec) {
    this.b = new OnnxBuilder({ opset: 17, domains: spec.form === 'qonnx' ? { [QONNX]: 1 } : {} });
    this.r = rng(spec.seed ?? 1);
  }

  private scale(): number {
    return this.spec.form === 'qonnx' ? 2 ** -Math.floor(this.r() * 4) : (1 + Math.floor(this.r() * 128) / 128) * 2 ** -Math.floor(this.r() * 5);
  }

  /** The bipolar sign of v, named `out`. */
  sign(v: string, out: string): string {
    const b = this.b;
    if (this.spec.form === 'qonnx') {
      const sa = this.spec.literal ? 'sa' : b.const('float32', [], [0.5]);
      return b.op('BipolarQuant', [v, sa], {}, { domain: QONNX, outputs: [out] });
    }
    const neg = b.op('Less', [v, b.const('float32', [], [0])]);
    return b.op('Where', [neg, b.const('float32', [], [-1]), b.const('float32', [], [1])], {}, { outputs: [out] });
  }

  /** A weight of `dims` whose output channel n (axis `axis`) is ±s_n. */
  weight(name: string, dims: number[], axis: number): string {
    const N = dims[axis];
    const inner = dims.slice(axis + 1).reduce((a, d) => a * d, 1);
    const s = Array.from({ length: N }, () => this.scale());
    const raw = Float32Array.from({ length: dims.reduce((a, d) => a * d, 1) }, (_, i) => (this.r() < 0.5 ? -1 : 1) * s[Math.floor(i / inner) % N]);
    this.layerScale = s.map((x) => (this.spec.form === 'qonnx' ? x / 2 : x));
    this.layerBias = s.map(() => 0);
    if (this.spec.form !== 'qonnx') return this.b.init(name, 'float32', dims, raw);
    const sDims = dims.map((d, i) => (i === axis ? d : 1));
    return this.b.op('BipolarQuant', [this.b.init(name, 'float32', dims, raw.map((x) => x * (this.r() + 0.5))), this.b.init(`${name}_s`, 'float32', sDims, s)], {}, { domain: QONNX });
  }

  bias(N: number): string {
    const bias = Float32Array.from({ length: N }, () => Math.round((this.r() * 2 - 1) * 64) / 256);
    this.layerBias = [...bias];
    return this.b.const('float32', [N], bias);
  }

  /** BatchNorm over the last layer's N channels (dyadic: some means on a value the layer reaches). */
  batchNorm(v: string, N: number, out: string, negative: boolean): string {
    const r = this.r;
    const gamma = new Float32Array(N), beta = new Float32Array(N), mean = new Float32Array(N), variance = new Float32Array(N);
    for (let c = 0; c < N; c++) {
      const neg = negative && r() < 0.4 ? -1 : 1;
      if (this.spec.dyadic) {
        gamma[c] = neg * 2 ** pick(r, [-1, 0, 1]);
        variance[c] = pick(r, [0.75, 3.75, 15.75]);
        mean[c] = Math.round((r() * 2 - 1) * 256) / 64;
        beta[c] = r() < 0.3 ? 0 : Math.round((r() * 2 - 1) * 64) / 64;
        if (c < this.layerScale.length && r() < 0.3) {
          mean[c] = pick(r, [-4, -2, 0, 2, 4]) * this.layerScale[c] + this.layerBias[c];
          beta[c] = 0;
        }
      } else {
        gamma[c] = neg * (0.3 + r());
        variance[c] = 0.1 + 3 * r();
        mean[c] = (r() * 2 - 1) * 3;
        beta[c] = (r() * 2 - 1) * 0.7;
      }
    }
    const attrs: Record<string, number> = this.spec.dyadic ? { epsilon: 0.25 } : {};
    const p = [gamma, beta, mean, variance].map((a) => this.b.const('float32', [N], a));
    return this.b.op('BatchNormalization', [v, ...p], attrs, { outputs: [out] });
  }

  finish(y: string): Uint8Array {
    for (const o of this.spec.extraOutputs ?? []) this.b.output(o, 'float32', null);
    this.b.output(y, 'float32', null);
    if (this.spec.literal) this.b.input('sa', 'float32', []);
    return this.b.toBytes();
  }
}

export const CNN_INPUT = [2, 16, 8, 8];

/**
 * sign → conv1 3×3 pad 1 (+bias) → BN → sign → conv2 3×3 pad 1 → [BN] → MaxPool 2×2 → [BN] →
 * Flatten → sign → fc (MatMul) → y.
 */
export function binaryCnn(spec: ChainSpec): Uint8Array {
  const n = new Net(spec);
  const b = n.b;
  const x = b.input('x', 'float32', CNN_INPUT);
  const c1 = b.op('Conv', [n.sign(x, 's0'), n.weight('w1', [24, 16, 3, 3], 0), n.bias(24)], { pads: [1, 1, 1, 1] }, { name: 'conv1', outputs: ['c1'] });
  const s1 = n.sign(n.batchNorm(c1, 24, 'bn1', false), 's1');
  const g2 = spec.group2 ?? 1;
  let v = b.op('Conv', [s1, n.weight('w2', [32, 24 / g2, 3, 3], 0)], { pads: [1, 1, 1, 1], group: g2 }, { name: 'conv2', outputs: ['c2'] });
  if (spec.bn2 === 'before-pool') v = n.batchNorm(v, 32, 'bn2', true);
  v = b.op('MaxPool', [v], { kernel_shape: [2, 2], strides: [2, 2] }, { outputs: ['p2'] });
  if (spec.bn2 === 'after-pool') v = n.batchNorm(v, 32, 'bn2', true);
  const head = spec.head ?? 'flatten';
  const f = head === 'flatten'
    ? b.op('Flatten', [v], { axis: 1 }, { outputs: ['f2'] })
    : b.op('Reshape', [v, b.const('int64', [2], head === 'rows' ? [-1, 256] : [0, -1])], {}, { outputs: ['f2'] });
  const y = b.op('MatMul', [n.sign(f, 's2'), n.weight('w3', [head === 'rows' ? 256 : 512, 10], 1)], {}, { name: 'fc', outputs: ['y'] });
  return n.finish(y);
}

export const MLP_INPUT = [4, 100];

/**
 * sign → fc1 (Gemm transB + bias) → BN → sign → fc2 (MatMul) → Mul c → Sub c → Clip[−1, 1] →
 * sign → fc3 (MatMul) → Div c → y.
 */
export function binaryMlp(spec: ChainSpec): Uint8Array {
  const n = new Net(spec);
  const b = n.b;
  const r = n.r;
  const x = b.input('x', 'float32', MLP_INPUT);
  const h1 = b.op('Gemm', [n.sign(x, 's0'), n.weight('w1', [64, 100], 0), n.bias(64)], { transB: 1 }, { name: 'fc1', outputs: ['h1'] });
  let z1 = n.batchNorm(h1, 64, 'bn1', true);
  if (spec.reshape) z1 = b.op('Reshape', [z1, b.const('int64', [2], [0, -1])]);
  const s1 = n.sign(z1, 's1');
  let h = b.op('MatMul', [s1, n.weight('w2', [64, 48], 1)], {}, { name: 'fc2', outputs: ['h2'] });
  const perChannel = (lo: number, hi: number) => b.const('float32', [48], Float32Array.from({ length: 48 }, () => (lo + r() * (hi - lo)) * (r() < 0.3 ? -1 : 1)));
  h = b.op('Mul', [perChannel(0.5, 2), h]);
  h = b.op('Sub', [h, perChannel(0, 1)]);
  h = b.op('Clip', [h, b.const('float32', [], [-1]), b.const('float32', [], [1])]);
  const h3 = b.op('MatMul', [n.sign(h, 's2'), n.weight('w3', [48, 10], 1)], {}, { name: 'fc3' });
  return n.finish(b.op('Div', [h3, b.const('float32', [1, 10], Float32Array.from({ length: 10 }, () => 0.75 + r()))], {}, { outputs: ['y'] }));
}

/** Inputs with exact ±0 in them (0 → +1 in every bipolar sign). */
export function chainInput(dims: number[], seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: dims.reduce((a, d) => a * d, 1) }, () => {
    const u = r();
    return u < 0.05 ? 0 : u < 0.1 ? -0 : r() * 2 - 1;
  });
}
