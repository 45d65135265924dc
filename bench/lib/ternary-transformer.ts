// A BitNet-style ternary transformer stack with seeded random weights (pre-LayerNorm decoder
// blocks, causal attention, one sequence of `seq` tokens):
//
//   x [seq, d] → blocks → LayerNorm → y [seq, d]
//   block(x):  h = LN(x);  q, k, v = T(h)·W_q, T(h)·W_k, T(h)·W_v
//              a = Softmax(q_h·k_hᵀ/√d_h + causal mask)·v_h  per head (fp32)
//              x' = x + T(a)·W_o;  y = x' + T(Gelu(T(LN(x'))·W_up))·W_down
//   T(v) = DequantizeLinear(QuantizeLinear(v, s, 0)): int8 activations, a static per-tensor scale
//   (the QDQ form quantizers write). The Linear weights are ternary: {−s_n, 0, +s_n} per output
//   channel, either as float32 initializers (`weights: 'float'`, the form lowbit's ternary rule
//   reads directly and onnxruntime runs as an fp32 MatMul) or as DequantizeLinear(int8 codes,
//   s_n) (`'int8'`, which onnxruntime runs on its int8 kernels). LayerNorm, Softmax and Gelu stay fp32.

import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { seededRandom } from '../../scripts/lib/random-models.js';
import { uniform, type BenchCase } from './models.js';

export interface TransformerShape {
  blocks: number;
  d: number;
  heads: number;
  seq: number;
  /** Hidden width of the MLP. */
  ffn: number;
}

export const TRANSFORMER_D1024: TransformerShape = { blocks: 4, d: 1024, heads: 16, seq: 128, ffn: 4096 };

/** Multiply-accumulates of one run: ternary Linear layers, and fp32 attention products. */
export function transformerMacs(s: TransformerShape): { ternary: number; float: number } {
  return { ternary: s.blocks * s.seq * (4 * s.d * s.d + 2 * s.d * s.ffn), float: s.blocks * 2 * s.seq * s.seq * s.d };
}

/** Activation quantizer scales: LayerNorm outputs (σ ≈ 1) and attention/Gelu outputs span ±4. */
const ACT_SCALE = 4 / 127;

export function ternaryTransformer(s: TransformerShape, seed: number, weights: 'float' | 'int8', progress?: (done: number) => void): BenchCase {
  const r = seededRandom(seed);
  const b = new OnnxBuilder({ name: `ternary_transformer_d${s.d}`, opset: 21 });
  const dh = s.d / s.heads;
  if (!Number.isInteger(dh)) throw new Error(`d ${s.d} is not a multiple of heads ${s.heads}`);
  let serial = 0;
  const c = (dtype: 'float32' | 'int64', dims: number[], v: number[]) => b.const(dtype, dims, v);
  const sx = c('float32', [], [ACT_SCALE]);
  const zx = b.const('int8', [], [0]);
  const T = (v: string) => b.op('DequantizeLinear', [b.op('QuantizeLinear', [v, sx, zx]), sx, zx]);

  /** xq·W, xq a T(…) output. Codes uniform in {−1, 0, +1}, s_n ∈ [0.5, 1)·√(3/(2K)): outputs about as large as inputs. */
  const linear = (xq: string, k: number, n: number): string => {
    const codes = new Int8Array(k * n);
    for (let i = 0; i < codes.length; i++) codes[i] = Math.floor(r() * 3) - 1;
    const scales = new Float32Array(n);
    for (let j = 0; j < n; j++) scales[j] = (0.5 + r() * 0.5) * Math.sqrt(3 / (2 * k));
    const id = serial++;
    let w: string;
    if (weights === 'int8') {
      w = b.op('DequantizeLinear', [b.init(`w${id}_q`, 'int8', [k, n], codes), b.init(`w${id}_scale`, 'float32', [n], scales)], { axis: 1 });
    } else {
      const wf = new Float32Array(k * n);
      for (let i = 0; i < wf.length; i++) wf[i] = codes[i] * scales[i % n];
      w = b.init(`w${id}`, 'float32', [k, n], wf);
    }
    return b.op('MatMul', [xq, w]);
  };
  const layerNorm = (x: string): string => {
    const gamma = Float32Array.from({ length: s.d }, () => 0.75 + r() * 0.5);
    const beta = uniform(r, s.d, 0.1);
    return b.op('LayerNormalization', [x, b.init(`ln${serial++}_g`, 'float32', [s.d], gamma), b.init(`ln${serial++}_b`, 'float32', [s.d], beta)], { axis: -1, epsilon: 1e-5 });
  };
  const mask = new Float32Array(s.seq * s.seq);
  for (let i = 0; i < s.seq; i++) for (let j = i + 1; j < s.seq; j++) mask[i * s.seq + j] = -1e9;
  const maskName = b.init('causal_mask', 'float32', [s.seq, s.seq], mask);
  const heads = c('int64', [3], [s.seq, s.heads, dh]);
  const flat = c('int64', [2], [s.seq, s.d]);
  const invSqrt = c('float32', [], [1 / Math.sqrt(dh)]);

  const x = b.input('x', 'float32', [s.seq, s.d]);
  let y = x;
  for (let blk = 0; blk < s.blocks; blk++) {
    const h = T(layerNorm(y));
    const split = (v: string, perm: number[]) => b.op('Transpose', [b.op('Reshape', [v, heads])], { perm });
    const q = split(linear(h, s.d, s.d), [1, 0, 2]); // [H, S, dh]
    const kT = split(linear(h, s.d, s.d), [1, 2, 0]); // [H, dh, S]
    const v = split(linear(h, s.d, s.d), [1, 0, 2]);
    const scores = b.op('Add', [b.op('Mul', [b.op('MatMul', [q, kT]), invSqrt]), maskName]);
    const ctx = b.op('MatMul', [b.op('Softmax', [scores], { axis: -1 }), v]); // [H, S, dh]
    const merged = b.op('Reshape', [b.op('Transpose', [ctx], { perm: [1, 0, 2] }), flat]);
    y = b.op('Add', [y, linear(T(merged), s.d, s.d)]);
    const up = b.op('Gelu', [linear(T(layerNorm(y)), s.d, s.ffn)]);
    y = b.op('Add', [y, linear(T(up), s.ffn, s.d)]);
    progress?.((blk + 1) / s.blocks);
  }
  b.op('Identity', [layerNorm(y)], {}, { outputs: ['y'] });
  b.output('y', 'float32', [s.seq, s.d]);
  return { model: b.toBytes(), feeds: { x: { type: 'float32', data: uniform(r, s.seq * s.d, 1), dims: [s.seq, s.d] } } };
}
