// QDQ int8 layer → one integer node (onnxruntime quantize_static's QDQ form).
//
//   DQ(x_q) ─┐                                  x_q: u8/s8, per-tensor scale sx and zero point
//   DQ(W_q) ─┼─ MatMul / Gemm / Conv ─ [Relu | Clip] ─ [Q(y)]
//   [bias] ──┘
//
// W_q is a constant int8/uint8, per tensor or per output channel (MatMul: axis 1, Gemm: axis 0
// with transB = 1 else 1, Conv: axis 0). The bias (Gemm C, Conv B) is absent, DQ(constant int32,
// zero point 0) or a float32 constant [N]. Gemm needs transA = 0, alpha = 1, beta = 1.
//
// With a per-tensor u8/s8 QuantizeLinear after it (requantised output), the layer becomes
//   - QLinearMatMul (MatMul, no bias), QLinearConv (Conv; the bias only as int32), or
//   - ai.lowbit QGemm (src/ops/qgemm.ts) otherwise: Gemm's transB and int32 bias, a ReLU/Clip;
// and the result is the QuantizeLinear's output, an integer tensor, which the next layer's
// DQ reads directly: the Q→DQ pair between layers disappears. An int32 bias is taken when its
// scale is exactly f32(sx·sw[n]) (what quantize_static writes): it is then an integer on the
// accumulator's own scale. ReLU / Clip before the QuantizeLinear are exact as a clamp of the
// quantised value, Q being monotone: Q(clip(y, lo, hi)) = clamp(Q(y), Q(lo), Q(hi)).
// Without a QuantizeLinear after it, the layer becomes ai.lowbit QGemmToFloat (MatMul / Gemm
// only): y = act(f32(acc) · f32(sx·sw[n]) + bias), an int32 bias entering as DQ(bias) in f32.
//
// Exactness. The float graph computes Q(f32 Σ DQ(x)·DQ(w) + bias) with f32 products and a sum
// in some order; the integer node computes round_half_even(f32(acc + bias_q) · m[n]) + y_zp with
// acc exact and m[n] = f32(f32(sx·sw[n]) / sy). Both approximate the same real number; they
// can differ by one quantum when it lies near a .5 tie — onnxruntime's own QDQ fusion (QGemm,
// QLinearConv) computes the integer form, as here. The float-output form differs from the float
// graph by float rounding only (a few ulp, growing with K).
//
// A value read by other nodes keeps its original producer: the Gemm/Conv output and the
// activation's are absorbed only when the next node is their single reader; DQ(x) and DQ(W)
// stay in the graph for any other readers (dead-node removal drops them otherwise).

import type { Graph, Node } from '../ir/graph.js';
import { numel } from '../ir/tensor.js';
import { GraphView, LOWBIT_DOMAIN } from './graph-view.js';
import type { Pass, PassLog } from './index.js';
import {
  activation, activationDQ, addInitializer, attrs, floatAttr, intAttr, isOp, perTensor, qdqParams, quantParamsOf,
  replaceChain, soleConsumer, valuesOf, weightDQ, type Activation, type QDQParams,
} from './quant-match.js';

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

interface Layer {
  anchor: Node;
  x: QDQParams;
  w: QDQParams & { w: { dims: readonly number[] } };
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
  return { int32: onAccScale ? dq.inputs[0] : undefined, values: Float32Array.from(qv, (b, n) => Math.fround(Math.fround(b) * sb(n))) };
}

const GEMM_FORM = 'Gemm needs transA = 0, alpha = 1 and beta = 1 with C';

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
  const w = weightDQ(v, n.inputs[1], kind === 'Conv' || transB ? 0 : 1);
  if (!w || (kind !== 'Conv' && w.w.dims.length !== 2)) return 'the weight is not DequantizeLinear of a constant int8/uint8, per tensor or per output channel';
  const N = w.w.dims[kind === 'Conv' || transB ? 0 : 1];
  const bias = biasOf(v, n.inputs[2] ?? '', x, w, N);
  return bias ? { anchor: n, x, w, N, transB, bias } : 'the bias is neither a float32 [N] constant nor DequantizeLinear(int32 [N], zero point 0)';
}

/** Why a Conv layer has no integer form (there is a float-output form for MatMul / Gemm only). */
function convDecline(L: Layer, q: QDQParams | undefined): string {
  if (!q) return 'the Conv output is not requantised by a QuantizeLinear (there is no float-output int8 Conv)';
  if (L.bias.values && !L.bias.int32) return 'the Conv bias is not int32 on the accumulator scale sx·sw[n], which QLinearConv needs';
  return 'a Relu/Clip between the Conv and its QuantizeLinear clamps inside the int8 range (QLinearConv has no clamp)';
}

/** A per-tensor u8/s8 QuantizeLinear reading `value` as its only reader. */
export function outputQ(v: GraphView, value: string): QDQParams | undefined {
  const q = soleConsumer(v, value);
  if (!isOp(q, 'QuantizeLinear') || q.inputs[0] !== value) return undefined;
  const p = qdqParams(v, q, undefined);
  return p && perTensor(p) && (p.type === 'uint8' || p.type === 'int8') ? p : undefined;
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

function requantised(g: Graph, L: Layer, act: Activation | undefined, y: QDQParams, out: string): Node | undefined {
  const { anchor: n, x, w } = L;
  if (L.bias.values && !L.bias.int32) return undefined;
  const [qmin, qmax] = y.type === 'int8' ? [-128, 127] : [0, 255];
  const lo = act ? quantise(act.lo, y) : qmin;
  const hi = act ? quantise(act.hi, y) : qmax;
  const clamps = lo > qmin || hi < qmax;
  const bias = L.bias.int32 ?? '';
  const xIn = [x.node.inputs[0], x.node.inputs[1]];
  const wIn = [w.node.inputs[0], w.node.inputs[1]];
  const yIn = [y.node.inputs[1]];
  const base = { name: n.name, outputs: [out] };
  if (n.opType === 'Conv') {
    if (clamps) return undefined;
    const inputs = [...xIn, zeroPointInput(g, x, xIn[0]), ...wIn, zeroPointInput(g, w, wIn[0]), ...yIn, zeroPointInput(g, y, out), bias];
    if (bias === '') inputs.pop();
    return { ...base, opType: 'QLinearConv', domain: '', inputs, attrs: new Map(n.attrs) };
  }
  if (n.opType === 'MatMul' && bias === '' && !clamps) {
    const inputs = [...xIn, zeroPointInput(g, x, xIn[0]), ...wIn, zeroPointInput(g, w, wIn[0]), ...yIn, zeroPointInput(g, y, out)];
    return { ...base, opType: 'QLinearMatMul', domain: '', inputs, attrs: new Map() };
  }
  const inputs = [...xIn, x.node.inputs[2] ?? '', ...wIn, w.node.inputs[2] ?? '', bias, ...yIn, zeroPointInput(g, y, out)];
  return { ...base, opType: 'QGemm', domain: LOWBIT_DOMAIN, inputs, attrs: attrs({ trans_b: +L.transB, ...(clamps ? { y_min: lo, y_max: hi } : {}) }) };
}

function toFloat(g: Graph, L: Layer, act: Activation | undefined, out: string): Node | undefined {
  const { anchor: n, x, w, N } = L;
  if (n.opType === 'Conv') return undefined;
  const perChannel = !perTensor(w);
  const scale = Array.from({ length: perChannel ? N : 1 }, (_, j) => Math.fround(x.scale[0] * w.scale[j]));
  const scaleName = addInitializer(g, `${out}_acc_scale`, 'float32', perChannel ? [N] : [], scale);
  const b = L.bias.values;
  const bias = !b ? '' : L.bias.name ?? addInitializer(g, `${out}_bias`, 'float32', [N], b);
  const inputs = [x.node.inputs[0], x.node.inputs[2] ?? '', w.node.inputs[0], w.node.inputs[2] ?? '', scaleName, bias];
  if (bias === '') inputs.pop();
  const a: Record<string, number> = act ? { act_min: act.lo, act_max: act.hi } : {};
  return { name: n.name, opType: 'QGemmToFloat', domain: LOWBIT_DOMAIN, inputs, outputs: [out], attrs: attrs({ trans_b: +L.transB, ...a }, ['act_min', 'act_max']) };
}

function rewrite(g: Graph, anchor: Node, log?: PassLog): boolean {
  const v = new GraphView(g);
  const L = matchLayer(g, v, anchor);
  if (typeof L === 'string') log?.decline(anchor, L);
  if (!L || typeof L === 'string') return false;
  const y = anchor.outputs[0];
  const act = activation(v, soleConsumer(v, y));
  const tail = act ? act.node.outputs[0] : y;
  const q = outputQ(v, tail);
  const chain = [anchor, ...(act ? [act.node] : [])];
  let node: Node | undefined;
  if (q) node = requantised(g, L, act, q, q.node.outputs[0]);
  if (node) chain.push(q!.node);
  else node = toFloat(g, L, act, tail);
  if (!node) {
    log?.decline(anchor, convDecline(L, q));
    return false;
  }
  replaceChain(g, chain, node);
  g.quant.set(L.x.node.inputs[0], quantParamsOf(L.x));
  g.quant.set(L.w.node.inputs[0], quantParamsOf(L.w));
  if (q && chain.at(-1) === q.node) g.quant.set(q.node.outputs[0], quantParamsOf(q));
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
