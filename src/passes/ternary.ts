// Ternary layers → ai.lowbit TernaryMatMul / TernaryConv (src/ops/ternary.ts): 2-bit weights on
// the exact integer kernels, where the activation is quantised to 8 bits.
//
//   DQ(x_q) ─┐                                  x_q: u8/s8, per-tensor scale sx and zero point
//   W ───────┼─ MatMul / Gemm / Conv ─ [Relu | Clip] ─ [Q(y)]
//   [bias] ──┘
//
// W is either
//   (a) DequantizeLinear(constant INT2 W_q, scale, zero point absent or 0) with every W_q in
//       {−1, 0, +1}, per tensor or per output channel (MatMul: axis 1; Gemm: axis 0 with
//       transB = 1, else 1; Conv: axis 0) — W = W_q·sw[n]; or
//   (b) a constant float32 whose channel n holds only −s_n, 0 and +s_n (ternaryWeightsOf), with
//       at least one 0 in the tensor (all ±s_n is a binary layer's): W = codes·s_n exactly.
// The bias (Gemm C, Conv B), Gemm's attributes and the output handling are those of the int8
// rule (qdq-int8.ts, whose helpers this one shares): with a per-tensor u8/s8 QuantizeLinear
// after the layer and the bias absent or DQ(int32) on the accumulator's scale f32(sx·sw[n]),
// the node requantises (y_min/y_max carry a Relu/Clip, and the integer Clip of a widened 2/4-bit
// QuantizeLinear, qdq-widen.ts) and outputs the integer tensor; otherwise it outputs float32
// (act_min/act_max carry the Relu/Clip) and a QuantizeLinear after it stays.
//
// Exactness. The ternary node computes acc = Σ (x_q − zx)·code exactly; requantised, it rounds
// f32(acc + bias)·m[n], m[n] = f32(f32(sx·sw[n]) / sy), as onnxruntime's QDQ fusion
// (QLinearConv, QGemm, QLinearMatMul) computes the same layer with int8 weights — bit for bit;
// the float graph rounds every product and partial sum, so the two can differ by one quantum
// at a .5 tie. The float output f32(acc)·f32(sx·sw[n]) + bias differs from the float graph by
// float rounding only (a few ulp, growing with K). The weight's QuantParams (bits 2, narrow)
// go to graph.quant.
// Float activations never take this rule: they stay on the float path, with the float graph's
// roundings. A ternary × f32 GEMV probe (2-bit codes turned into ±2.0f by a shift and a mask,
// then a multiply-add; quad-interleaved rows) measured 1.9–2.2 ms on 1×4096×4096 against
// gemm_f32's 2.6–3.3 ms (relaxed build, same process, a loaded machine): ≈1.4×, only where the
// f32 GEMV is memory bound, and compute bound beyond — not enough to trade the graph's
// per-product roundings for one final-scale rounding and keep a second weight layout.

import type { AttrValue, Graph, Node } from '../ir/graph.js';
import type { QuantParams } from '../ir/quant.js';
import { GraphView, LOWBIT_DOMAIN } from './graph-view.js';
import type { Pass } from './index.js';
import { biasOf, outputQ, requantNodes, requantOutput, requantRange, zeroPointInput, type Bias, type OutputQ } from './qdq-int8.js';
import {
  activation, activationDQ, addInitializer, attrs, floatAttr, intAttr, isOp, qdqParams, quantParamsOf, replaceChain,
  soleConsumer, type Activation, type QDQParams,
} from './quant-match.js';
import { int2TernaryCodes, ternaryWeightsOf } from './ternary-weights.js';

interface Weights {
  codes: Int8Array;
  /** One scale, or one per output channel. */
  scale: Float32Array;
  dims: readonly number[];
  /** Where W came from: the INT2 constant or the float32 initializer. */
  source: string;
}

interface Layer {
  anchor: Node;
  x: QDQParams;
  w: Weights;
  N: number;
  transB: boolean;
  bias: Bias;
}

/** Form (a): DQ of a constant INT2 tensor with ternary values, per tensor or along `axis`. */
function int2Weights(v: GraphView, value: string, axis: number): Weights | undefined {
  const dq = v.producer(value);
  if (!isOp(dq, 'DequantizeLinear')) return undefined;
  const wq = v.constant(dq.inputs[0]);
  if (!wq || wq.dtype !== 'int2' || wq.dims.length < 2) return undefined;
  const p = qdqParams(v, dq, 'int2', wq.dims.length);
  const codes = int2TernaryCodes(wq);
  if (!p || !codes || p.zeroPoint.some((z) => z !== 0)) return undefined;
  if (p.scale.length !== 1 && (p.axis !== axis || p.scale.length !== wq.dims[axis])) return undefined;
  return { codes, scale: p.scale, dims: wq.dims, source: dq.inputs[0] };
}

/** Form (b): a float32 initializer of −s_n, 0, +s_n per channel along `axis`, with a zero somewhere. */
function implicitWeights(v: GraphView, value: string, axis: number): Weights | undefined {
  const w = v.constant(value);
  if (!w || w.dtype !== 'float32' || w.dims.length < 2) return undefined;
  const t = ternaryWeightsOf(w, axis);
  if (!t || !t.codes.includes(0)) return undefined;
  return { codes: t.codes, scale: t.scales, dims: w.dims, source: value };
}

function matchLayer(g: Graph, v: GraphView, n: Node): Layer | undefined {
  const kind = n.domain === '' ? n.opType : '';
  if (kind !== 'MatMul' && kind !== 'Gemm' && kind !== 'Conv') return undefined;
  if (kind === 'Gemm' && (intAttr(n, 'transA', 0) !== 0 || floatAttr(n, 'alpha', 1) !== 1)) return undefined;
  if (kind === 'Gemm' && (n.inputs[2] ?? '') !== '' && floatAttr(n, 'beta', 1) !== 1) return undefined;
  if (n.inputs[0] === n.inputs[1]) return undefined;
  const transB = kind === 'Gemm' && intAttr(n, 'transB', 0) === 1;
  const axis = kind === 'Conv' || transB ? 0 : 1;
  const x = activationDQ(g, v, n.inputs[0]);
  if (!x) return undefined;
  const w = int2Weights(v, n.inputs[1], axis) ?? implicitWeights(v, n.inputs[1], axis);
  if (!w || (kind !== 'Conv' && w.dims.length !== 2) || (kind === 'Conv' && w.dims.length < 3)) return undefined;
  const N = w.dims[axis];
  // biasOf reads the weight scale (one, or one per channel) of a QDQParams.
  const wq: QDQParams = { node: n, type: 'int8', scale: w.scale, zeroPoint: [], axis };
  const bias = biasOf(v, n.inputs[2] ?? '', x, wq, N);
  return bias ? { anchor: n, x, w, N, transB, bias } : undefined;
}

/** The new node's inputs after A: a_scale, a_zero_point, W (codes), w_scale. */
function common(g: Graph, L: Layer): { ins: string[]; codes: string } {
  const base = L.w.source;
  const codes = addInitializer(g, `${base}__ternary_codes`, 'int8', [...L.w.dims], L.w.codes);
  const perChannel = L.w.scale.length !== 1;
  const sw = addInitializer(g, `${base}__ternary_scale`, 'float32', perChannel ? [L.N] : [], L.w.scale);
  return { ins: [L.x.node.inputs[0], L.x.node.inputs[1], L.x.node.inputs[2] ?? '', codes, sw], codes };
}

function layerAttrs(L: Layer, extra: Map<string, AttrValue>): Map<string, AttrValue> {
  if (L.anchor.opType === 'Conv') return new Map([...L.anchor.attrs, ...extra]);
  return new Map([...attrs({ trans_b: +L.transB }), ...extra]);
}

const opTypeOf = (L: Layer): string => (L.anchor.opType === 'Conv' ? 'TernaryConv' : 'TernaryMatMul');

function requantised(g: Graph, L: Layer, ins: string[], act: Activation | undefined, y: OutputQ): Node | undefined {
  if (L.bias.values && !L.bias.int32) return undefined;
  const [qmin, qmax] = y.p.type === 'int8' ? [-128, 127] : [0, 255];
  const [lo, hi] = requantRange(act, y);
  const clamp = lo > qmin || hi < qmax ? attrs({ y_min: lo, y_max: hi }) : new Map<string, AttrValue>();
  const out = requantOutput(y);
  const inputs = [...ins, L.bias.int32 ?? '', y.p.node.inputs[1], zeroPointInput(g, y.p, out)];
  return { name: L.anchor.name, opType: opTypeOf(L), domain: LOWBIT_DOMAIN, inputs, outputs: [out], attrs: layerAttrs(L, clamp) };
}

function toFloat(g: Graph, L: Layer, ins: string[], act: Activation | undefined, out: string): Node {
  const b = L.bias.values;
  const bias = !b ? '' : L.bias.name ?? addInitializer(g, `${out}_bias`, 'float32', [L.N], b);
  const inputs = [...ins, bias];
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const a = act ? attrs({ act_min: act.lo, act_max: act.hi }, ['act_min', 'act_max']) : new Map<string, AttrValue>();
  return { name: L.anchor.name, opType: opTypeOf(L), domain: LOWBIT_DOMAIN, inputs, outputs: [out], attrs: layerAttrs(L, a) };
}

function rewrite(g: Graph, anchor: Node): boolean {
  const v = new GraphView(g);
  const L = matchLayer(g, v, anchor);
  if (!L) return false;
  const y = anchor.outputs[0];
  const act = activation(v, soleConsumer(v, y));
  const tail = act ? act.node.outputs[0] : y;
  const q = outputQ(v, tail);
  const { ins, codes } = common(g, L);
  const chain = [anchor, ...(act ? [act.node] : [])];
  let node = q ? requantised(g, L, ins, act, q) : undefined;
  if (node) chain.push(...requantNodes(q!));
  else node = toFloat(g, L, ins, act, tail);
  replaceChain(g, chain, node);
  const w: QuantParams = {
    scale: L.w.scale, zeroPoint: new Int32Array(L.w.scale.length), axis: L.anchor.opType === 'Conv' || L.transB ? 0 : 1,
    blockSize: 0, bits: 2, signed: true, narrow: true,
  };
  g.quant.set(codes, w);
  g.quant.set(L.x.node.inputs[0], quantParamsOf(L.x));
  if (q && chain.includes(q.p.node)) g.quant.set(requantOutput(q), quantParamsOf(q.p));
  return true;
}

export const ternaryPass: Pass = {
  name: 'ternary',
  run(g) {
    let fired = 0;
    for (const n of [...g.nodes]) if (g.nodes.includes(n) && rewrite(g, n)) fired++;
    return fired;
  },
};
