// What the QONNX rule (qonnx-quant.ts) reads off a graph: QONNX Quant / IntQuant / BipolarQuant
// nodes with constant parameters, as quantizers of constant weights (the integer t of every
// element, scale and zero point per output channel) or of activations (one scale, one zero
// point). A node whose parameters are not what these accept is left alone: the literal op then
// reports at load time what is wrong with it (bit width, rounding mode, attributes).

import type { DType } from '../ir/dtype.js';
import { QONNX_DOMAINS } from '../ir/domains.js';
import { fail } from '../errors.js';
import { nodeLabel, type Node } from '../ir/graph.js';
import { dequantValue, intRange, MAX_BITWIDTH, QKIND, quantValue, roundingCode } from '../ir/qonnx.js';
import { numel, toNumbers, type TensorData } from '../ir/tensor.js';
import type { GraphView } from './graph-view.js';

export interface Quantizer {
  node: Node;
  /** QKIND.QUANT, QUANT_BIPOLAR (Quant with bitwidth 1, signed) or BIPOLAR (BipolarQuant). */
  kind: number;
  mode: number;
  bits: number;
  signed: boolean;
  narrow: boolean;
  /** The range of t: the clamp range, or [−1, 1] for the bipolar kinds. */
  lo: number;
  hi: number;
}

const QUANT_OPS = ['Quant', 'IntQuant'];

export const isQuantizer = (n: Node | undefined): n is Node =>
  !!n && QONNX_DOMAINS.includes(n.domain) && (QUANT_OPS.includes(n.opType) || n.opType === 'BipolarQuant');

/** An int attribute that is 0 or 1 (absent: `def`); undefined for anything else. */
function flag(n: Node, name: string, def: number): boolean | undefined {
  const a = n.attrs.get(name);
  const v = a === undefined ? def : a.type === 'int' ? a.value : undefined;
  return v === 0 || v === 1 ? v === 1 : undefined;
}

/** The quantizer `n` when its bit width is a constant scalar integer in range and its attributes are valid. */
export function quantizer(v: GraphView, n: Node | undefined): Quantizer | undefined {
  if (!isQuantizer(n)) return undefined;
  if (n.opType === 'BipolarQuant') return { node: n, kind: QKIND.BIPOLAR, mode: 0, bits: 1, signed: true, narrow: false, lo: -1, hi: 1 };
  const bw = v.constant(n.inputs[3] ?? '');
  if (!bw || bw.dims.length !== 0 || n.inputs.length !== 4) return undefined;
  const bits = toNumbers(bw)[0];
  const signed = flag(n, 'signed', 1);
  const narrow = flag(n, 'narrow', 0);
  const m = n.attrs.get('rounding_mode');
  const mode = m === undefined ? 0 : m.type === 'string' ? roundingCode(m.value) : undefined;
  if (!Number.isInteger(bits) || bits < 1 || bits > MAX_BITWIDTH || signed === undefined || narrow === undefined || mode === undefined) return undefined;
  const kind = bits === 1 && signed ? QKIND.QUANT_BIPOLAR : QKIND.QUANT;
  const [lo, hi] = kind === QKIND.QUANT_BIPOLAR ? [-1, 1] : intRange(signed, narrow, bits);
  return { node: n, kind, mode, bits, signed, narrow, lo, hi };
}

/** The values of a float32 constant. */
const f32Values = (t: TensorData): Float32Array => new Float32Array(t.bytes.slice().buffer);

/**
 * A quantisation parameter of a tensor of shape `dims` that is one value, or one value per index
 * of axis `axis` (numpy broadcasting: 1 everywhere else); its values, or undefined.
 */
function perAxis(t: TensorData | undefined, dims: readonly number[], axis: number): Float32Array | undefined {
  if (!t || t.dtype !== 'float32' || t.dims.length > dims.length) return undefined;
  const vals = f32Values(t);
  if (vals.length === 1) return vals;
  const at = axis - (dims.length - t.dims.length);
  return t.dims.every((d, i) => d === (i === at ? dims[axis] : 1)) ? vals : undefined;
}

const usableScale = (s: number): boolean => s > 0 && s < Infinity;

/** A constant weight tensor quantised by a QONNX quantizer: W = (t − zp[c])·scale[c] per channel c of `axis`. */
export interface WeightQuant {
  q: Quantizer;
  dims: number[];
  axis: number;
  /** The integer t of every element (W's layout). */
  t: Int32Array;
  /** One value (per tensor) or one per channel; zp has the scale's length. */
  scale: Float32Array;
  zp: Int32Array;
}

/**
 * `value` as a quantised constant weight with channel axis `axis`: a quantizer of a float32
 * initializer with scale (> 0, finite) and integer zero point per tensor or per channel.
 * Non-finite weights are a broken model: LOWBIT_BAD_MODEL naming the quantizer.
 */
export function weightQuant(v: GraphView, value: string, axis: (rank: number) => number): WeightQuant | undefined {
  const q = quantizer(v, v.producer(value));
  const w = q ? v.constant(q.node.inputs[0]) : undefined;
  if (!q || !w || w.dtype !== 'float32' || w.dims.length < 2) return undefined;
  const wv = f32Values(w);
  const bad = wv.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) fail('LOWBIT_BAD_MODEL', `${nodeLabel(q.node)}: constant weights '${q.node.inputs[0]}' hold ${wv[bad]} at element ${bad}; quantized weights must be finite`);
  const a = axis(w.dims.length);
  const C = w.dims[a];
  const s = perAxis(v.constant(q.node.inputs[1]), w.dims, a);
  const z = q.kind === QKIND.BIPOLAR ? new Float32Array(1) : perAxis(v.constant(q.node.inputs[2] ?? ''), w.dims, a);
  if (!s || !z || !s.every(usableScale) || !z.every((x) => Number.isInteger(x))) return undefined;
  const count = Math.max(s.length, z.length);
  const scale = Float32Array.from({ length: count }, (_, c) => s[s.length === 1 ? 0 : c]);
  const zp = Int32Array.from({ length: count }, (_, c) => z[z.length === 1 ? 0 : c]);
  const inner = numel(w.dims.slice(a + 1));
  const t = new Int32Array(wv.length);
  for (let i = 0; i < wv.length; i++) {
    const c = count === 1 ? 0 : Math.floor(i / inner) % C;
    t[i] = quantValue(q.kind, q.mode, wv[i], scale[c], zp[c], q.lo, q.hi);
  }
  return { q, dims: [...w.dims], axis: a, t, scale, zp };
}

/** A quantizer of an activation with one scale and one zero point, whose t fit `type`. */
export interface ActivationQuant {
  q: Quantizer;
  x: string;
  scale: number;
  zp: number;
  type: DType;
}

const RANGE: Record<string, [number, number]> = { int8: [-128, 127], uint8: [0, 255] };

/** Whether every value lies in the range of `type` (int8 or uint8). */
export const fits = (type: DType, values: ArrayLike<number>): boolean => Array.prototype.every.call(values, (x: number) => x >= RANGE[type][0] && x <= RANGE[type][1]);

/**
 * `value` as a quantised activation: a quantizer of a non-constant X with bit width ≤ 8, a scale
 * (> 0, finite) and an integer zero point, each one value of rank ≤ `maxRank` (so that the
 * quantizer does not broadcast X to a higher rank), and the zero point in the int8 / uint8 range.
 */
export function activationQuant(v: GraphView, value: string, maxRank: number): ActivationQuant | undefined {
  const q = quantizer(v, v.producer(value));
  if (!q || q.bits > 8 || v.constant(q.node.inputs[0])) return undefined;
  const one = (name: string | undefined): number | undefined => {
    const t = name ? v.constant(name) : undefined;
    return t && t.dtype === 'float32' && numel(t.dims) === 1 && t.dims.length <= maxRank ? f32Values(t)[0] : undefined;
  };
  const scale = one(q.node.inputs[1]);
  const zp = q.kind === QKIND.BIPOLAR ? 0 : one(q.node.inputs[2]);
  const type: DType = q.signed ? 'int8' : 'uint8';
  if (scale === undefined || zp === undefined || !usableScale(scale) || !Number.isInteger(zp) || !fits(type, [zp])) return undefined;
  return { q, x: q.node.inputs[0], scale, zp, type };
}

/**
 * The values a quantizer of a constant float32 vector outputs — a layer's bias exported as
 * Quant(b, s, z, bits) — when b has N elements ([N] or [1, N]) and s, z are one value or one per
 * element: each computed as the literal op computes it (quantValue then dequantValue, the f32
 * operation order of assembly/fakequant.ts), so the folded bias is bit for bit the literal one
 * (NaN included). Undefined for anything else.
 */
export function quantizedBias(v: GraphView, value: string, N: number): Float32Array | undefined {
  const q = quantizer(v, v.producer(value));
  const b = q ? v.constant(q.node.inputs[0]) : undefined;
  if (!q || !b || b.dtype !== 'float32' || numel(b.dims) !== N || b.dims.at(-1) !== N || b.dims.length > 2) return undefined;
  const last = b.dims.length - 1;
  const s = perAxis(v.constant(q.node.inputs[1]), b.dims, last);
  const z = q.kind === QKIND.BIPOLAR ? new Float32Array(1) : perAxis(v.constant(q.node.inputs[2] ?? ''), b.dims, last);
  if (!s || !z) return undefined;
  const at = (a: Float32Array, i: number) => a[a.length === 1 ? 0 : i];
  return Float32Array.from(f32Values(b), (x, i) => dequantValue(quantValue(q.kind, q.mode, x, at(s, i), at(z, i), q.lo, q.hi), at(s, i), at(z, i)));
}
