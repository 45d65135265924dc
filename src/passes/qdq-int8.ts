// QDQ layer → one integer node (onnxruntime quantize_static's QDQ form, and Brevitas' QDQ export
// with 2- and 4-bit weights).
//
//   DQ(x_q) ─┐                                  x_q: u8/s8, per-tensor scale sx and zero point
//   DQ(W_q) ─┼─ MatMul / Gemm / Conv ─ [Relu | Clip] ─ [Q(y) [─ Clip(int)]]
//   [bias] ──┘
//
// W_q is a constant int8/uint8 — or int4/uint4/int2/uint2, whose values fit the 8-bit type of
// their signedness (INT2 weights all in {−1, 0, +1} with zero point 0 are left to the ternary
// rule) — per tensor or per output channel (MatMul: axis 1, Gemm: axis 0 with transB = 1 else 1,
// Conv: axis 0). The bias (Gemm C, Conv B) is absent, DQ(constant int32, zero point 0) or a
// float32 constant [N]. Gemm needs transA = 0, alpha = 1, beta = 1. x_q may come from a widened
// 2/4-bit QuantizeLinear (qdq-widen.ts): its integers are then known to lie in the Clip's range.
//
// With a per-tensor u8/s8 QuantizeLinear after it (requantised output; an integer Clip after the
// Q — a widened 2/4-bit Q — narrows its range), the layer becomes
//   - QLinearMatMul (MatMul, no bias, no clamp), QLinearConv (Conv; the bias only as int32, no
//     clamp), or
//   - ai.lowbit QGemm (src/ops/qgemm.ts) otherwise: Gemm's transB and int32 bias, y_min / y_max;
// and the result is the QuantizeLinear's (or the Clip's) output, an integer tensor, which the next
// layer's DQ reads directly: the Q→DQ pair between layers disappears. An int32 bias is taken when
// its scale is exactly f32(sx·sw[n]) (what quantize_static and Brevitas write): it is then an
// integer on the accumulator's own scale. ReLU / Clip before the QuantizeLinear are exact as a
// clamp of the quantised value, Q being monotone: Q(clip(y, lo, hi)) = clamp(Q(y), Q(lo), Q(hi));
// so is the integer Clip after it. Sub-byte weights are widened to int8 / uint8 (same values).
// Without a QuantizeLinear after it (or when the Conv form cannot take it), the layer outputs f32:
//   - MatMul / Gemm with 2/4-bit weights, K ≤ 65536 and x_q − zx known to fit int8: ai.lowbit MatMulQWQ8
//     (src/ops/matmul-qw.ts), W kept 2/4 bits wide: y = f32(f32(f32(acc)·sw[n])·sx) + bias;
//   - MatMul / Gemm otherwise: ai.lowbit QGemmToFloat, y = act(f32(acc)·f32(sx·sw[n]) + bias);
//   - Conv: ai.lowbit QConvToFloat (src/ops/qconv.ts), y = f32(acc)·f32(sx·sw[n]) + bias, a
//     Relu / Clip after it left standing;
// an int32 bias entering as DQ(bias) computes it in f32, so the float bias is bit for bit the
// graph's.
//
// Exactness. The float graph computes Q(f32 Σ DQ(x)·DQ(w) + bias) with f32 products and a sum
// in some order; the integer node computes round_half_even(f32(acc + bias_q) · m[n]) + y_zp with
// acc exact and m[n] = f32(f32(sx·sw[n]) / sy). Both approximate the same real number; they
// can differ by one quantum when it lies near a .5 tie — onnxruntime's own QDQ fusion (QGemm,
// QLinearConv) computes the integer form, as here. The float-output forms differ from the float
// graph by float rounding only: acc is exact, then at most 3 f32 roundings, against the float
// graph's (K + 2)·2^−24·Σ|terms|.
//
// A value read by other nodes keeps its original producer: the Gemm/Conv output and the
// activation's are absorbed only when the next node is their single reader; DQ(x) and DQ(W)
// stay in the graph for any other readers (dead-node removal drops them otherwise).

import type { AttrValue, Graph, Node } from '../ir/graph.js';
import type { QuantParams } from '../ir/quant.js';
import { numel } from '../ir/tensor.js';
import { GraphView, LOWBIT_DOMAIN } from './graph-view.js';
import type { Pass, PassLog } from './index.js';
import {
  activation, activationDQ, addInitializer, attrs, floatAttr, intAttr, isOp, perTensor, qdqParams, quantParamsOf,
  replaceChain, soleConsumer, SUB_BYTE, valuesOf, weightDQ, type Activation, type QDQParams,
} from './quant-match.js';
import { int2TernaryCodes } from './ternary-weights.js';

/**
 * The anchor's bias: `int32`, the name of an int32 constant on the accumulator's scale (usable
 * when requantising); `values`, its real values in f32 (a float32 constant, named by `name`, or
 * DQ(int32) as the DequantizeLinear computes it). Both absent: no bias.
 */
export interface Bias {
  int32?: string;
  values?: Float32Array;
  name?: string;
}

type WeightDQ = NonNullable<ReturnType<typeof weightDQ>>;

interface Layer {
  anchor: Node;
  x: QDQParams;
  w: WeightDQ;
  N: number;
  transB: boolean;
  bias: Bias;
}

const sameF32 = (a: number, b: number): boolean => Math.fround(a) === b;

/** The anchor's bias input: none, an int32 DQ on the accumulator's scale, or float values. */
export function biasOf(v: GraphView, name: string, x: QDQParams, w: QDQParams, N: number): Bias | undefined {
  if (name === '') return {};
  const c = v.constant(name);
  if (c) return c.dtype === 'float32' && numel(c.dims) === N && c.dims.at(-1) === N ? { values: new Float32Array(valuesOf(c)), name } : undefined;
  const dq = v.producer(name);
  if (!isOp(dq, 'DequantizeLinear')) return undefined;
  const q = v.constant(dq.inputs[0]);
  const p = qdqParams(v, dq, 'int32', 1);
  if (!q || !p || q.dtype !== 'int32' || q.dims.length !== 1 || q.dims[0] !== N || p.zeroPoint.some((z) => z !== 0)) return undefined;
  if (!perTensor(p) && (p.axis !== 0 || p.scale.length !== N)) return undefined;
  const sb = (n: number) => p.scale[perTensor(p) ? 0 : n];
  const sw = (n: number) => w.scale[perTensor(w) ? 0 : n];
  const qv = valuesOf(q);
  const onAccScale = qv.every((_, n) => sameF32(x.scale[0] * sw(n), sb(n)));
  // DequantizeLinear of int32 computes f32(f64(f32(b)) · scale) (assembly/quant_elem.ts).
  return { int32: onAccScale ? dq.inputs[0] : undefined, values: Float32Array.from(qv, (b, n) => Math.fround(Math.fround(b) * sb(n))) };
}

const GEMM_FORM = 'Gemm needs transA = 0, alpha = 1 and beta = 1 with C';

/** Largest K MatMulQWQ8 takes with one block per channel (QW_MAX_BLOCK, K rounded up to 16). */
const QW_MAX_K = 65536;

/** INT2 weights in {−1, 0, +1} with zero point 0: the ternary rule's (ternary.ts). */
const ternaryInt2 = (w: WeightDQ): boolean => w.w.dtype === 'int2' && w.zeroPoint.every((z) => z === 0) && int2TernaryCodes(w.w) !== undefined;

/**
 * The layer around a MatMul / Gemm / Conv anchor; why it is not one this rule takes, when either
 * operand comes from a DequantizeLinear; otherwise undefined.
 */
function matchLayer(g: Graph, v: GraphView, n: Node): Layer | string | undefined {
  const kind = n.domain === '' ? n.opType : '';
  if (kind !== 'MatMul' && kind !== 'Gemm' && kind !== 'Conv') return undefined;
  const xIsDQ = isOp(v.producer(n.inputs[0]), 'DequantizeLinear');
  if (!xIsDQ && !isOp(v.producer(n.inputs[1]), 'DequantizeLinear')) return undefined;
  if (kind === 'Gemm' && (intAttr(n, 'transA', 0) !== 0 || floatAttr(n, 'alpha', 1) !== 1)) return GEMM_FORM;
  if (kind === 'Gemm' && (n.inputs[2] ?? '') !== '' && floatAttr(n, 'beta', 1) !== 1) return GEMM_FORM;
  const transB = kind === 'Gemm' && intAttr(n, 'transB', 0) === 1;
  const x = activationDQ(g, v, n.inputs[0]);
  if (!x) return xIsDQ ? 'the activation DequantizeLinear is not per-tensor uint8/int8 with a constant scale' : 'the activation is float (no DequantizeLinear before the layer)';
  const w = weightDQ(v, n.inputs[1], kind === 'Conv' || transB ? 0 : 1, true);
  if (w && ternaryInt2(w)) return undefined;
  if (!w || (kind !== 'Conv' && w.w.dims.length !== 2)) {
    return 'the weight is not DequantizeLinear of a constant 2/4/8-bit integer tensor, per tensor or per output channel';
  }
  const N = w.w.dims[kind === 'Conv' || transB ? 0 : 1];
  const bias = biasOf(v, n.inputs[2] ?? '', x, w, N);
  return bias ? { anchor: n, x, w, N, transB, bias } : 'the bias is neither a float32 [N] constant nor DequantizeLinear(int32 [N], zero point 0)';
}

/** A requantising QuantizeLinear after a layer, and the range [lo, hi] its integers take. */
export interface OutputQ {
  p: QDQParams;
  /** The integer Clip after the Q (a widened 2/4-bit Q) that the layer absorbs too. */
  clip?: Node;
  lo: number;
  hi: number;
}

/** A Clip of an integer value of `type` with constant scalar bounds of that type (absent: no bound). */
function integerClip(v: GraphView, n: Node | undefined, value: string, type: string): [number, number] | undefined {
  if (!isOp(n, 'Clip') || n.inputs[0] !== value) return undefined;
  const bound = (i: number, def: number): number | undefined => {
    const name = n.inputs[i] ?? '';
    if (name === '') return def;
    const t = v.constant(name);
    return t && t.dtype === type && numel(t.dims) === 1 ? valuesOf(t)[0] : undefined;
  };
  const [lo, hi] = [bound(1, -Infinity), bound(2, Infinity)];
  return lo !== undefined && hi !== undefined && lo <= hi ? [lo, hi] : undefined;
}

/** A per-tensor u8/s8 QuantizeLinear reading `value` as its only reader, with an integer Clip after it as its only reader. */
export function outputQ(v: GraphView, value: string): OutputQ | undefined {
  const q = soleConsumer(v, value);
  if (!isOp(q, 'QuantizeLinear') || q.inputs[0] !== value) return undefined;
  const p = qdqParams(v, q, undefined);
  if (!p || !perTensor(p) || (p.type !== 'uint8' && p.type !== 'int8')) return undefined;
  const [qmin, qmax] = p.type === 'int8' ? [-128, 127] : [0, 255];
  const clip = soleConsumer(v, q.outputs[0]);
  const r = integerClip(v, clip, q.outputs[0], p.type);
  return r ? { p, clip, lo: Math.max(qmin, r[0]), hi: Math.min(qmax, r[1]) } : { p, lo: qmin, hi: qmax };
}

/** The integer range [lo, hi] of the requantised output: the Q's range, clamped by a Relu/Clip before it. */
export function requantRange(act: Activation | undefined, y: OutputQ): [number, number] {
  return act ? [Math.max(y.lo, quantise(act.lo, y.p)), Math.min(y.hi, quantise(act.hi, y.p))] : [y.lo, y.hi];
}

/** The nodes a requantised layer absorbs after the Q's input: the Q, and its Clip. */
export const requantNodes = (y: OutputQ): Node[] => [y.p.node, ...(y.clip ? [y.clip] : [])];

/** Where the requantised integers go: the Clip's output, or the Q's. */
export const requantOutput = (y: OutputQ): string => (y.clip ?? y.p.node).outputs[0];

/** The range of integers DQ(x)'s input can hold: an integer Clip's or QGemm / Ternary y_min..y_max producing it, else the type's. */
function activationRange(v: GraphView, x: QDQParams): [number, number] {
  const [qmin, qmax] = x.type === 'int8' ? [-128, 127] : [0, 255];
  const value = x.node.inputs[0];
  const p = v.producer(value);
  const clip = p && integerClip(v, p, p.inputs[0], x.type);
  if (clip) return [Math.max(qmin, clip[0]), Math.min(qmax, clip[1])];
  if (p && p.domain === LOWBIT_DOMAIN && p.attrs.has('y_min')) return [intAttr(p, 'y_min', qmin), intAttr(p, 'y_max', qmax)];
  return [qmin, qmax];
}

/** Q(t) for a real t, as QuantizeLinear computes it: saturate(round_half_even(t / s) + zp). */
export function quantise(t: number, y: QDQParams): number {
  const [qmin, qmax] = y.type === 'int8' ? [-128, 127] : [0, 255];
  if (t === Infinity) return qmax;
  if (t === -Infinity) return qmin;
  const r = Math.fround(t / y.scale[0]);
  let i = Math.round(r);
  if (i - r === 0.5 && i % 2 !== 0) i -= 1;
  return Math.min(Math.max(i + y.zeroPoint[0], qmin), qmax);
}

/** Name of an initializer holding the zero point of `p`, creating one (0) when the node has none. */
export function zeroPointInput(g: Graph, p: QDQParams, base: string): string {
  const z = p.node.inputs[2] ?? '';
  return z !== '' ? z : addInitializer(g, `${base}_zero_point`, p.type, [...(perTensor(p) ? [] : [p.scale.length])], new Array(p.scale.length).fill(0));
}

/** [W, w_scale, w_zero_point] as the 8-bit kernels read them: the DQ's own, or a sub-byte W widened to int8 / uint8. */
function weight8(g: Graph, L: Layer, memo: { names?: string[] }): string[] {
  if (memo.names) return memo.names;
  const { w } = L;
  const [wName, sName, zName = ''] = w.node.inputs;
  if (!SUB_BYTE.has(w.w.dtype)) return (memo.names = [wName, sName, zeroPointInput(g, w, wName)]);
  const wide = addInitializer(g, `${wName}_${w.type}`, w.type, [...w.w.dims], valuesOf(w.w));
  const zDims = zName !== '' ? [...g.initializers.get(zName)!.dims] : perTensor(w) ? [] : [w.scale.length];
  return (memo.names = [wide, sName, addInitializer(g, `${wide}_zero_point`, w.type, zDims, w.zeroPoint)]);
}

function requantised(g: Graph, L: Layer, act: Activation | undefined, y: OutputQ, w8: () => string[]): Node | undefined {
  const { anchor: n, x } = L;
  if (L.bias.values && !L.bias.int32) return undefined;
  const [qmin, qmax] = y.p.type === 'int8' ? [-128, 127] : [0, 255];
  const [lo, hi] = requantRange(act, y);
  const clamps = lo > qmin || hi < qmax;
  const bias = L.bias.int32 ?? '';
  const out = requantOutput(y);
  const xIn = [x.node.inputs[0], x.node.inputs[1]];
  const yIn = [y.p.node.inputs[1]];
  const base = { name: n.name, outputs: [out] };
  if (n.opType === 'Conv') {
    if (clamps) return undefined;
    const inputs = [...xIn, zeroPointInput(g, x, xIn[0]), ...w8(), ...yIn, zeroPointInput(g, y.p, out), bias];
    if (bias === '') inputs.pop();
    return { ...base, opType: 'QLinearConv', domain: '', inputs, attrs: new Map(n.attrs) };
  }
  if (n.opType === 'MatMul' && bias === '' && !clamps) {
    const inputs = [...xIn, zeroPointInput(g, x, xIn[0]), ...w8(), ...yIn, zeroPointInput(g, y.p, out)];
    return { ...base, opType: 'QLinearMatMul', domain: '', inputs, attrs: new Map() };
  }
  const inputs = [...xIn, x.node.inputs[2] ?? '', ...w8(), bias, ...yIn, zeroPointInput(g, y.p, out)];
  return { ...base, opType: 'QGemm', domain: LOWBIT_DOMAIN, inputs, attrs: attrs({ trans_b: +L.transB, ...(clamps ? { y_min: lo, y_max: hi } : {}) }) };
}

/** The f32 bias input: the float constant, or a new one holding DQ(int32)'s values; '' for none. */
function floatBias(g: Graph, L: Layer, out: string): string {
  const b = L.bias.values;
  return !b ? '' : L.bias.name ?? addInitializer(g, `${out}_bias`, 'float32', [L.N], b);
}

/**
 * The f32-output node and the nodes it replaces: MatMulQWQ8 (the anchor) or QGemmToFloat (the
 * anchor and its Relu / Clip) for MatMul / Gemm, QConvToFloat (the anchor) for Conv.
 */
function toFloat(g: Graph, v: GraphView, L: Layer, act: Activation | undefined, w8: () => string[]): { node: Node; chain: Node[] } {
  const { anchor: n, x, w, N } = L;
  const make = (op: string, ins: string[], out: string, a: Map<string, AttrValue>): Node => {
    while (ins[ins.length - 1] === '') ins.pop();
    return { name: n.name, opType: op, domain: LOWBIT_DOMAIN, inputs: ins, outputs: [out], attrs: a };
  };
  const y = n.outputs[0];
  const [lo, hi] = activationRange(v, x);
  const K = numel(w.w.dims) / N;
  const fitsQw = K <= QW_MAX_K && lo - x.zeroPoint[0] >= -128 && hi - x.zeroPoint[0] <= 127;
  if (n.opType !== 'Conv' && SUB_BYTE.has(w.w.dtype) && fitsQw) {
    const [wName, sName, zName = ''] = w.node.inputs;
    const ins = [x.node.inputs[0], x.node.inputs[1], zeroPointInput(g, x, x.node.inputs[0]), wName, sName, zName, floatBias(g, L, y)];
    const a = attrs({ bits: w.w.dtype.endsWith('2') ? 2 : 4, signed: +(w.type === 'int8'), trans_b: +L.transB, block_size: 0 });
    return { node: make('MatMulQWQ8', ins, y, a), chain: [n] };
  }
  const perChannel = !perTensor(w);
  const scale = Array.from({ length: perChannel ? N : 1 }, (_, j) => Math.fround(x.scale[0] * w.scale[j]));
  const scaleName = addInitializer(g, `${y}_acc_scale`, 'float32', perChannel ? [N] : [], scale);
  const [wName, , wZp] = w8();
  const ins = [x.node.inputs[0], x.node.inputs[2] ?? '', wName, wZp, scaleName, floatBias(g, L, y)];
  if (n.opType === 'Conv') return { node: make('QConvToFloat', ins, y, new Map(n.attrs)), chain: [n] };
  const out = act ? act.node.outputs[0] : y;
  const a = attrs({ trans_b: +L.transB, ...(act ? { act_min: act.lo, act_max: act.hi } : {}) }, ['act_min', 'act_max']);
  return { node: make('QGemmToFloat', ins, out, a), chain: [n, ...(act ? [act.node] : [])] };
}

/** The weight's QuantParams: its own bits (2, 4 or 8) and signedness. */
function weightParams(L: Layer): QuantParams {
  const bits = { int2: 2, uint2: 2, int4: 4, uint4: 4 }[L.w.w.dtype as string] ?? 8;
  return { ...quantParamsOf(L.w), bits, signed: L.w.type === 'int8' };
}

function rewrite(g: Graph, anchor: Node, log?: PassLog): boolean {
  const v = new GraphView(g);
  const L = matchLayer(g, v, anchor);
  if (typeof L === 'string') log?.decline(anchor, L);
  if (!L || typeof L === 'string') return false;
  const act = activation(v, soleConsumer(v, anchor.outputs[0]));
  const q = outputQ(v, act ? act.node.outputs[0] : anchor.outputs[0]);
  const memo: { names?: string[] } = {};
  const w8 = () => weight8(g, L, memo);
  const requant = q ? requantised(g, L, act, q, w8) : undefined;
  const { node, chain } = requant ? { node: requant, chain: [anchor, ...(act ? [act.node] : []), ...requantNodes(q!)] } : toFloat(g, v, L, act, w8);
  replaceChain(g, chain, node);
  g.quant.set(L.x.node.inputs[0], quantParamsOf(L.x));
  g.quant.set(node.inputs[node.opType === 'QGemmToFloat' || node.opType === 'QConvToFloat' ? 2 : 3], weightParams(L));
  if (requant) g.quant.set(requantOutput(q!), quantParamsOf(q!.p));
  return true;
}

export const qdqInt8Pass: Pass = {
  name: 'qdq-int8',
  run(g, log) {
    let fired = 0;
    for (const n of [...g.nodes]) if (g.nodes.includes(n) && rewrite(g, n, log)) fired++;
    return fired;
  },
};
