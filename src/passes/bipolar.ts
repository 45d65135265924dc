// The bipolar signs a binary layer's activation can be (binary.ts), and the data movement between
// such a sign and the layer that keeps it a sign (sign-motion.ts carries it out).
//
// Signs, as the literal ops compute them (they differ only at NaN, which the packers take as the
// layer's nan_negative, assembly/bitpack.ts):
//   Where(Less(x, 0), −1, +1)        −1 where x < 0, else +1: NaN → +1          nan_negative 0
//   QONNX BipolarQuant(x, s)         +s where x ≥ 0, else −s: NaN → −s          nan_negative 1
//   QONNX Quant(x, s, 0, 1), signed  qonnx's 1-bit case (FORMATS.md): t = f32(x / s) + 0,
//                                    +s where t ≥ 0, else −s: NaN → −s          nan_negative 1
// s a constant scalar (rank ≤ 1), 0 < s < ∞; Quant's zero point a constant 0 (any other makes (±1 − z)·s,
// not a sign). Quant takes the sign of f32(x / s), not of x: for s < 2 they agree (x = −0 gives
// −0 ≥ 0 in both; a negative x has |x| ≥ 2^−149, so |x| / s > 2^−150 rounds to at least 2^−149,
// still negative; −∞ and overflow stay negative), but for s ≥ 2 a negative x with |x| ≤ s·2^−150
// divides to −0 and gives +1. Then the sign is of Div(x, s), computed as the op does (`divisor`).
//
// Moves between the sign and the layer: sign → [MaxPool] → [Flatten | Reshape] → layer.
//   Flatten / Reshape only permute elements, so they commute with any elementwise sign: exact
//   for every rule.
//   MaxPool over ±s values is +s exactly when one tap of the window is +s: the AND of the taps'
//   bits (set = −1), whatever made each bit, NaN included. (Taking f32 max first and the sign
//   after would differ for BipolarQuant: f32.max propagates a NaN, which then packs −1 although
//   another tap may be ≥ 0.) So a pool runs on the bits: PackSigns → BitMaxPool.

import type { Node } from '../ir/graph.js';
import { QONNX_DOMAINS } from '../ir/domains.js';
import { QKIND } from '../ir/qonnx.js';
import { numel, toNumbers } from '../ir/tensor.js';
import type { GraphView } from './graph-view.js';
import { quantizer } from './qonnx-match.js';

export interface BipolarSign {
  /** The sign op (Where, BipolarQuant or Quant). */
  node: Node;
  /** The value whose sign it takes (before `divisor`). */
  x: string;
  /** It outputs ±scale. */
  scale: number;
  /** 1: NaN → −1 (x ≥ 0 ? +1 : −1); 0: NaN → +1 (x < 0 ? −1 : +1). */
  nanNegative: 0 | 1;
  /** Quant with s ≥ 2: the sign is of f32(x / divisor). */
  divisor?: number;
}

/** A float32 constant holding one value, that value; rank ≤ 1, so it broadcasts to x's shape. */
function scalar(v: GraphView, name: string | undefined): number | undefined {
  const t = name ? v.constant(name) : undefined;
  return t && t.dtype === 'float32' && t.dims.length <= 1 && numel(t.dims) === 1 ? toNumbers(t)[0] : undefined;
}

const usableScale = (s: number | undefined): s is number => s !== undefined && s > 0 && s < Infinity;

export const isBipolarQuant = (n: Node | undefined): boolean => !!n && n.opType === 'BipolarQuant' && QONNX_DOMAINS.includes(n.domain);

/** The bipolar sign that produces `value`, if one does (see the top). */
export function bipolarSign(v: GraphView, value: string): BipolarSign | undefined {
  const p = v.producer(value);
  if (!p) return undefined;
  if (isBipolarQuant(p)) {
    const scale = scalar(v, p.inputs[1]);
    return usableScale(scale) ? { node: p, x: p.inputs[0], scale, nanNegative: 1 } : undefined;
  }
  const q = quantizer(v, p);
  if (q) {
    const [scale, zp] = [scalar(v, p.inputs[1]), scalar(v, p.inputs[2])];
    if (q.kind !== QKIND.QUANT_BIPOLAR || !usableScale(scale) || zp !== 0) return undefined;
    return { node: p, x: p.inputs[0], scale, nanNegative: 1, ...(scale >= 2 ? { divisor: scale } : {}) };
  }
  if (p.domain !== '' || p.opType !== 'Where' || scalar(v, p.inputs[1]) !== -1 || scalar(v, p.inputs[2]) !== 1) return undefined;
  const less = v.producer(p.inputs[0]);
  if (!less || less.domain !== '' || less.opType !== 'Less' || scalar(v, less.inputs[1]) !== 0) return undefined;
  return { node: p, x: less.inputs[0], scale: 1, nanNegative: 0 };
}

/** A layer's X as the sign of a value moved past a MaxPool and a Flatten/Reshape (see the top). */
export interface BipolarPath {
  sign: BipolarSign;
  pool?: Node;
  reshape?: Node;
}

const isPlainMaxPool = (n: Node | undefined): n is Node =>
  !!n && n.domain === '' && n.opType === 'MaxPool' && n.outputs.slice(1).every((o) => o === '');

const isReshape = (n: Node | undefined): n is Node =>
  !!n && n.domain === '' && (n.opType === 'Flatten' || (n.opType === 'Reshape' && n.inputs.length >= 2 && n.inputs[1] !== n.inputs[0]));

/** `value` = [Flatten | Reshape]([MaxPool](sign(x))), or undefined. */
export function bipolarPath(v: GraphView, value: string): BipolarPath | undefined {
  let at = value;
  const path: Partial<BipolarPath> = {};
  const r = v.producer(at);
  if (isReshape(r)) [path.reshape, at] = [r, r.inputs[0]];
  const p = v.producer(at);
  if (isPlainMaxPool(p)) [path.pool, at] = [p, p.inputs[0]];
  const sign = bipolarSign(v, at);
  return sign && { ...path, sign };
}

/** Why `value` is no sign a binary layer takes (for a layer whose weights are ±s). */
export function notBipolar(v: GraphView, value: string): string {
  const p = v.producer(value);
  if (p && p.domain === '' && p.opType === 'Sign') return 'activation is Sign, not a bipolar sign (Sign(0) = 0 has no ±1 bit)';
  if (isBipolarQuant(p)) return 'BipolarQuant activation scale is not a constant scalar > 0';
  const q = quantizer(v, p);
  if (q && q.kind === QKIND.QUANT_BIPOLAR) return '1-bit Quant activation needs a constant scalar scale > 0 and zero point 0';
  return 'activation is not a bipolar sign (±s weights on float activations stay on the faster f32 kernel)';
}

const PASS_THROUGH = new Set(['Relu', 'Clip', 'Identity', 'Mul', 'Add', 'Sub', 'Div']);

/**
 * The channel count (axis 1) of `value` where the graph states it: a graph input's declared
 * shape (enforced on every feed), a BatchNormalization's scale, the weight of a Conv / ai.lowbit
 * BinaryConv / QConvToFloat, through Relu, Clip, Identity and arithmetic with a constant of one
 * value (rank ≤ 1, so no broadcast changes the shape).
 */
export function channelsOf(v: GraphView, value: string): number | undefined {
  for (let depth = 0; depth < 16; depth++) {
    const p = v.producer(value);
    if (!p) {
      const c = v.graph.inputs.find((i) => i.name === value)?.shape?.[1];
      return typeof c === 'number' ? c : undefined;
    }
    const constDims = (i: number) => v.constant(p.inputs[i] ?? '')?.dims;
    if (p.domain === '' && p.opType === 'BatchNormalization') return constDims(1) && numel(constDims(1)!);
    if ((p.domain === '' && p.opType === 'Conv') || p.opType === 'BinaryConv') return constDims(1)?.[0];
    if (p.opType === 'QConvToFloat') return constDims(2)?.[0];
    if (p.domain !== '' || !PASS_THROUGH.has(p.opType)) return undefined;
    const oneValue = (c: string) => {
      const t = v.constant(c);
      return t !== undefined && t.dims.length <= 1 && numel(t.dims) === 1;
    };
    if (!p.inputs.slice(1).every((c) => c === '' || oneValue(c))) return undefined;
    value = p.inputs[0];
  }
  return undefined;
}
