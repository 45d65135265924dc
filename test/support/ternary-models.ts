// Ternary layers as ONNX models (scripts/lib/onnx-builder.ts) for the ternary pass and op tests:
// x (float32) → QuantizeLinear → DequantizeLinear → MatMul / Gemm / Conv over ternary weights →
// [Relu | Clip] → [QuantizeLinear], the weights written three ways with the same real values:
//   int2  DequantizeLinear(INT2 codes, w_scale)          — the W2A8 QDQ form (opset 25)
//   int8  DequantizeLinear(INT8 codes, w_scale)          — its int8 twin, which onnxruntime fuses
//   f32   a float32 initializer codes·w_scale            — implicit ternary weights

import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { rng } from './kernels.js';
import { ternary } from './ternary.js';

export type WeightForm = 'int2' | 'int8' | 'f32';

export interface TernaryCase {
  name: string;
  kind: 'MatMul' | 'Gemm' | 'Conv';
  /** A's dims (MatMul/Gemm: [..., K]; Conv: [N, C, spatial…]). */
  x: number[];
  /** Output channels. */
  N: number;
  /** Conv kernel (spatial) and attributes. */
  kernel?: number[];
  attrs?: Record<string, AttrInput>;
  xType: 'uint8' | 'int8';
  /** Activation scale (stored as float32): a power of two makes Q(x) exact for the x the tests feed. */
  sx: number;
  perChannel: boolean;
  bias: 'none' | 'int32' | 'float';
  act: 'none' | 'relu' | 'clip';
  /** Requantise after the layer (QuantizeLinear to the activation type). */
  q: boolean;
  /** A share of zero weights. */
  zeros?: number;
}

const prod = (v: readonly number[]) => v.reduce((a, b) => a * b, 1);

export interface LayerData {
  codes: Int8Array;
  sw: Float32Array;
  zx: number;
  bias?: Int32Array | Float32Array;
  sy: number;
  wDims: number[];
  K: number;
}

/** The case's weights, scales and bias, from its seed. */
export function layerData(c: TernaryCase, seed: number): LayerData {
  const r = rng(seed);
  const conv = c.kind === 'Conv';
  const group = Number(c.attrs?.group ?? 1);
  const K = conv ? (c.x[1] / group) * prod(c.kernel!) : c.x[c.x.length - 1];
  const transB = c.kind === 'Gemm' && c.attrs?.transB === 1;
  const wDims = conv ? [c.N, c.x[1] / group, ...c.kernel!] : transB ? [c.N, K] : [K, c.N];
  const codes = ternary(r, prod(wDims), c.zeros ?? 0.35);
  const sw = Float32Array.from({ length: c.perChannel ? c.N : 1 }, () => 0.01 + r() * 0.04);
  const zx = c.xType === 'uint8' ? 100 + Math.floor(r() * 50) : -10 + Math.floor(r() * 20);
  // Outputs of about ±40 quanta: acc ≈ 60·√(0.65·K) quanta of sx·sw.
  const sy = Math.fround((c.sx * 0.03 * 60 * Math.sqrt(0.65 * K)) / 40);
  let bias: Int32Array | Float32Array | undefined;
  if (c.bias === 'int32') bias = Int32Array.from({ length: c.N }, () => Math.floor((r() - 0.5) * 3000));
  if (c.bias === 'float') bias = Float32Array.from({ length: c.N }, () => Math.round((r() - 0.5) * 256) / 64);
  return { codes, sw, zx, bias, sy, wDims, K };
}

/** The model with W in the given form. Graph input 'x' (float32), output 'out'. */
export function ternaryModel(c: TernaryCase, d: LayerData, form: WeightForm): Uint8Array {
  const b = new OnnxBuilder({ opset: 25 });
  const conv = c.kind === 'Conv';
  const x = b.input('x', 'float32', c.x);
  const sxName = b.init('sx', 'float32', [], [c.sx]);
  const zxName = b.init('zx', c.xType, [], [d.zx]);
  const xq = b.op('QuantizeLinear', [x, sxName, zxName], {}, { name: 'qx' });
  const xd = b.op('DequantizeLinear', [xq, sxName, zxName], {}, { name: 'dqx' });
  const axis = conv || c.attrs?.transB === 1 ? 0 : 1;
  const swDims = c.perChannel ? [c.N] : [];
  let w: string;
  if (form === 'f32') {
    const inner = prod(d.wDims.slice(axis + 1));
    const C = d.wDims[axis];
    const vals = Float32Array.from(d.codes, (q, i) => q * d.sw[c.perChannel ? Math.floor(i / inner) % C : 0]);
    w = b.init('W', 'float32', d.wDims, vals);
  } else {
    const wq = b.init('Wq', form, d.wDims, Array.from(d.codes));
    w = b.op('DequantizeLinear', [wq, b.init('sw', 'float32', swDims, d.sw)], c.perChannel ? { axis } : {}, { name: 'dqw' });
  }
  const inputs = [xd, w];
  if (d.bias instanceof Float32Array) inputs.push(b.init('Bf', 'float32', [c.N], d.bias));
  if (d.bias instanceof Int32Array) {
    const sb = Float32Array.from({ length: c.N }, (_, n) => Math.fround(Math.fround(c.sx) * d.sw[c.perChannel ? n : 0]));
    inputs.push(b.op('DequantizeLinear', [b.init('Bq', 'int32', [c.N], d.bias), b.init('sb', 'float32', [c.N], sb)], { axis: 0 }, { name: 'dqb' }));
  }
  let y = b.op(c.kind, inputs, c.attrs ?? {}, { name: 'layer' });
  if (c.act === 'relu') y = b.op('Relu', [y]);
  if (c.act === 'clip') y = b.op('Clip', [y, b.init('lo', 'float32', [], [-0.5]), b.init('hi', 'float32', [], [0.75])]);
  if (c.q) {
    b.op('QuantizeLinear', [y, b.init('sy', 'float32', [], [d.sy]), b.init('zy', c.xType, [], [c.xType === 'uint8' ? 128 : 3])], {}, { name: 'qy', outputs: ['out'] });
    b.output('out', c.xType, null);
  } else {
    b.op('Identity', [y], {}, { outputs: ['out'] });
    b.output('out', 'float32', null);
  }
  return b.toBytes();
}

/**
 * Inputs x = (q − zx)·sx for random q of the activation type, so that QuantizeLinear gives q
 * back exactly when sx is a power of two (x/sx is then exact); also values that saturate.
 */
export function layerInput(c: TernaryCase, d: LayerData, seed: number): { x: Float32Array; q: Int32Array } {
  const r = rng(seed);
  const [lo, hi] = c.xType === 'uint8' ? [0, 255] : [-128, 127];
  const n = prod(c.x);
  const q = Int32Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
  const x = Float32Array.from(q, (v) => (v - d.zx) * c.sx);
  return { x, q };
}
