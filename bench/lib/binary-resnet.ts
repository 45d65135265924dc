// A binary ResNet-18-style CNN with seeded random weights (shapes are what the benchmark needs):
//
//   x [1, 3, H, W] → Conv 7×7/2 (fp32, BatchNorm folded into its bias) → Relu → MaxPool 3×3/2
//   → 4 stages × 2 basic blocks → GlobalAveragePool → Flatten → Gemm (fp32) → logits [1, classes]
//
//   block(x) = Conv₂(sign(Conv₁(sign(x)))) + shortcut(x)
//     Conv₁, Conv₂: 3×3 binary convs (Conv₁ stride 2 in the first block of stages 2–4), weights
//       ±s_n per output channel, BatchNorm folded into s_n and the bias;
//     shortcut: x, or a 1×1 stride-2 fp32 Conv (folded BatchNorm) where the shape changes.
//   sign(v) = Where(Less(v, 0), −1, +1): the bipolar sign (QONNX BipolarQuant's v ≥ 0 → +1 rule) in
//   standard operators, so onnxruntime runs the very same model; lowbit's binary rule
//   (src/passes/binary.ts) lowers each sign → Conv to a BinaryConv and the binary-chain rule keeps
//   Conv₁ → sign → Conv₂ in sign bits. No Relu after the residual Add: the sign of a Relu output
//   would be +1 everywhere.
//
// The int8 twin (`int8: true`, for onnxruntime's int8 kernels): the same weights as
// DequantizeLinear(int8 codes, per-channel scale) — ±1 codes and s_n for the binary convs, the fp32
// weights quantized per channel for the others — with the int32 bias, every conv's input and
// output in int8 QDQ (static scales), the form onnxruntime's QDQ fusion turns into QLinearConv.
//
// Exactness: s_n = (1 + j/128)·2^−e has 8 significant bits and K = 9·C ≤ 2^14, so every partial
// sum of ±s_n is exact in f32 and a binary conv's float value is dot·s_n + bias, one rounding
// (as lowbit computes it). The fp32 layers (stem, shortcuts, head) differ between runtimes by
// summation order only.

import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { seededRandom } from '../../scripts/lib/random-models.js';
import { uniform, type BenchCase } from './models.js';

export interface ResNetShape {
  /** Input height = width. */
  size: number;
  /** Channels of the stem and of stages 1–4 (ResNet-18: 64, 128, 256, 512). */
  widths: readonly number[];
  /** Basic blocks per stage (ResNet-18: 2). */
  blocks: number;
  classes: number;
}

export const RESNET18_224: ResNetShape = { size: 224, widths: [64, 128, 256, 512], blocks: 2, classes: 1000 };

const out = (h: number, k: number, s: number, p: number): number => Math.floor((h + 2 * p - k) / s) + 1;

/** Multiply-accumulates of one run, per kind of layer. */
export function resnetMacs(s: ResNetShape): { binary: number; float: number } {
  let h = out(s.size, 7, 2, 3);
  let float = s.widths[0] * 3 * 49 * h * h;
  h = out(h, 3, 2, 1);
  let binary = 0;
  let c = s.widths[0];
  s.widths.forEach((w, i) => {
    for (let b = 0; b < s.blocks; b++) {
      const stride = i > 0 && b === 0 ? 2 : 1;
      const ho = out(h, 3, stride, 1);
      binary += w * c * 9 * ho * ho + w * w * 9 * ho * ho;
      if (stride !== 1 || c !== w) float += w * c * ho * ho;
      h = ho;
      c = w;
    }
  });
  return { binary, float: float + c * s.classes };
}

/** Scale of the int8 twin's activations: conv outputs are O(1), ±4 on 127 steps. */
const ACT_SCALE = 4 / 127;

class Gen {
  readonly b: OnnxBuilder;
  private n = 0;
  constructor(readonly r: () => number, name: string, readonly int8: boolean) {
    this.b = new OnnxBuilder({ name });
  }

  private name(kind: string): string {
    return `${kind}_${this.n++}`;
  }

  /** DequantizeLinear(QuantizeLinear(v)) at a per-tensor int8 scale (int8 twin only). */
  private qdq(v: string, scale: number): string {
    const b = this.b;
    const s = b.const('float32', [], [scale]);
    const z = b.const('int8', [], [0]);
    return b.op('DequantizeLinear', [b.op('QuantizeLinear', [v, s, z]), s, z]);
  }

  sign(x: string): string {
    const b = this.b;
    return b.op('Where', [b.op('Less', [x, b.const('float32', [], [0])]), b.const('float32', [], [-1]), b.const('float32', [], [1])]);
  }

  /** Bias of a folded BatchNorm: multiples of 1/256 in [−1, 1]. */
  private biasValues(n: number): Float32Array {
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = Math.round((this.r() * 2 - 1) * 256) / 256;
    return v;
  }

  /**
   * Conv(x, w) + bias with w [cout, cin, k, k]; in the int8 twin w = codes·scale[n] and x is
   * quantized at `xScale`, the bias goes to int32 on x_scale·w_scale[n], the output to int8 QDQ.
   */
  private conv(x: string, w: Float32Array, dims: number[], stride: number, pad: number, codes?: { q: Int8Array; scale: Float32Array }, xScale = ACT_SCALE): string {
    const b = this.b;
    const cout = dims[0];
    const bias = this.biasValues(cout);
    const attrs = { kernel_shape: [dims[2], dims[3]], pads: [pad, pad, pad, pad], strides: [stride, stride] };
    if (!this.int8) return b.op('Conv', [x, b.init(this.name('conv_w'), 'float32', dims, w), b.init(this.name('bias'), 'float32', [cout], bias)], attrs);
    const q = codes ?? perChannelInt8(w, cout);
    const wq = b.op('DequantizeLinear', [b.init(this.name('conv_wq'), 'int8', dims, q.q), b.init(this.name('w_scale'), 'float32', [cout], q.scale)], { axis: 0 });
    const bScale = q.scale.map((s) => Math.fround(xScale * s));
    const bq = b.init(this.name('bias_q'), 'int32', [cout], Int32Array.from(bias, (v, i) => Math.round(v / bScale[i])));
    const bd = b.op('DequantizeLinear', [bq, b.init(this.name('b_scale'), 'float32', [cout], bScale)], { axis: 0 });
    return this.qdq(b.op('Conv', [this.qdq(x, xScale), wq, bd], attrs), ACT_SCALE);
  }

  floatConv(x: string, cin: number, cout: number, k: number, stride: number, pad: number, xScale = ACT_SCALE): string {
    const fan = cin * k * k;
    return this.conv(x, uniform(this.r, cout * fan, Math.sqrt(3 / fan)), [cout, cin, k, k], stride, pad, undefined, xScale);
  }

  /** Conv(sign(x), ±s_n) + bias, 3×3, pad 1: s_n ≈ 1/√K keeps the output O(1). */
  binaryConv(x: string, cin: number, cout: number, stride: number): string {
    const K = cin * 9;
    const e = Math.round(Math.log2(Math.sqrt(K)));
    const w = new Float32Array(cout * K);
    const q = new Int8Array(cout * K);
    const scale = new Float32Array(cout);
    for (let n = 0; n < cout; n++) {
      scale[n] = (1 + Math.floor(this.r() * 128) / 128) * 2 ** -e;
      for (let j = 0; j < K; j++) {
        q[n * K + j] = this.r() < 0.5 ? -1 : 1;
        w[n * K + j] = q[n * K + j] * scale[n];
      }
    }
    return this.conv(this.sign(x), w, [cout, cin, 3, 3], stride, 1, { q, scale }, 1);
  }
}

/** Symmetric int8 codes per output channel (axis 0) of w, scale = max |w| / 127. */
function perChannelInt8(w: Float32Array, cout: number): { q: Int8Array; scale: Float32Array } {
  const per = w.length / cout;
  const q = new Int8Array(w.length);
  const scale = new Float32Array(cout);
  for (let n = 0; n < cout; n++) {
    let m = 0;
    for (let j = 0; j < per; j++) m = Math.max(m, Math.abs(w[n * per + j]));
    scale[n] = m / 127;
    for (let j = 0; j < per; j++) q[n * per + j] = Math.round(w[n * per + j] / scale[n]);
  }
  return { q, scale };
}

/**
 * The model and a feed (uniform [−1, 1) pixels, seeded). `progress` is told the fraction of
 * weights drawn so far.
 */
export function binaryResnet(s: ResNetShape, seed: number, progress?: (done: number) => void, int8 = false): BenchCase {
  const r = seededRandom(seed);
  const g = new Gen(r, `binary_resnet${2 + 4 * s.blocks * 2}_${s.size}${int8 ? '_int8' : ''}`, int8);
  const b = g.b;
  const x = b.input('x', 'float32', [1, 3, s.size, s.size]);
  let y = b.op('Relu', [g.floatConv(x, 3, s.widths[0], 7, 2, 3, 1 / 127)]);
  y = b.op('MaxPool', [y], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] });
  let c = s.widths[0];
  s.widths.forEach((w, i) => {
    for (let k = 0; k < s.blocks; k++) {
      const stride = i > 0 && k === 0 ? 2 : 1;
      const h = g.binaryConv(g.binaryConv(y, c, w, stride), w, w, 1);
      const shortcut = stride !== 1 || c !== w ? g.floatConv(y, c, w, 1, stride, 0) : y;
      y = b.op('Add', [h, shortcut]);
      c = w;
    }
    progress?.((i + 1) / s.widths.length);
  });
  const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [y])]);
  const fc = b.init('fc_w', 'float32', [s.classes, c], uniform(r, s.classes * c, Math.sqrt(3 / c)));
  b.op('Gemm', [pooled, fc, b.init('fc_b', 'float32', [s.classes], uniform(r, s.classes, 0.1))], { transB: 1 }, { outputs: ['logits'] });
  b.output('logits', 'float32', [1, s.classes]);
  return { model: b.toBytes(), feeds: { x: { type: 'float32', data: uniform(r, 3 * s.size * s.size, 1), dims: [1, 3, s.size, s.size] } } };
}
