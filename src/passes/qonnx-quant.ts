// QONNX quantized layers: Quant / IntQuant / BipolarQuant (qonnx.custom_op.general and its
// aliases) on the constant weight of a MatMul / Gemm / Conv, and on its activation, become
// integer layers instead of running as fake-quant floats:
//
//   Quant(x, s_x, z_x, b_x) ─┐                    QonnxQuantInt(x) → ai.lowbit
//   Quant(W, s_w, z_w, b_w) ─┴─ MatMul / Gemm  ⇒    MatMulQWQ8    W kept 2 or 4 bits wide (b_w ≤ 4, t_x − z_x fits int8)
//                                                   QGemmToFloat  W as int8 / uint8 otherwise
//                           ─── Conv           ⇒    QConvToFloat  W as int8 / uint8
//   x (float)               ─┐
//   Quant(W, s_w, z_w, b_w) ─┴─ MatMul / Gemm  ⇒  ai.lowbit MatMulQW (W kept 2, 4 or 8 bits wide)
//   bipolar x (a sign of bipolar.ts, also through a MaxPool / Flatten / Reshape) with a 1-bit
//     Quant W  ⇒  W folded to its ±s_w
//     f32 values here, so that the binary pass (binary.ts) makes the XNOR-popcount layer
// A Conv on f32 activations keeps f32 weights (there is no n-bit weight conv kernel).
//
// Weights: W a float32 initializer; s_w > 0 finite and z_w an integer, per tensor or per output
// channel (MatMul [K,N]: axis 1; Gemm: axis 0 with transB = 1, else 1; Conv: axis 0); b_w the
// bit width (BipolarQuant: 1 bit, t = ±1, z = 0). The integer t of every weight is computed here
// in the f32 order of assembly/fakequant.ts (src/ir/qonnx.ts), so (t − z_w)·s_w is bit for bit
// the weight the literal graph computes. The qw layouts store t in 2 bits (b_w ≤ 2), 4 (≤ 4) or
// 8 (≤ 8), widened when z_w needs it. A non-integer z_w or any other granularity stays float.
// Activations: x not a constant; s_x > 0 finite and z_x an integer, one value each; b_x ≤ 8, so t
// fits int8 (signed) or uint8, z_x too (checked). QonnxQuantInt computes t with the same f32
// operations as the literal Quant, in every rounding mode, so the integer layer reads exactly the
// integers the literal graph multiplies. A NaN in x has no integer: the run fails, naming the node
// (the literal graph would output NaN). The quantizer nodes stay for any other reader.
// Gemm matches with transA = 0, alpha = 1 and C absent or a float32 initializer of N elements
// ([N] or [1, N]) with beta = 1; Conv with B absent or a float32 initializer of M elements; either
// bias may be a QONNX quantizer of such an initializer. A layer with a quantised weight that stays
// on the float path logs why.
//
// Exactness of the integer layers. With v_x = t_x − z_x and v_w = t_w − z_w (exact integers):
// acc = Σ_k v_x·v_w is exact in i32 (MatMulQWQ8: |v_w| ≤ 15, K ≤ 65536; QGemmToFloat /
// QConvToFloat: checked K·max|v_x|·max|v_w| < 2^31), and the layer outputs
// y = f32(f32(acc)·f32(s_x·s_w[n])) (QGemmToFloat, QConvToFloat) or f32(f32(f32(acc)·s_w[n])·s_x)
// (MatMulQWQ8), then + bias. The literal graph computes Σ_k f32(v_x·s_x)·f32(v_w·s_w) with f32
// products and sums; both approximate the same real number acc·s_x·s_w[n]. When the float graph
// makes no rounding error (e.g. power-of-two scales with |acc| < 2^24) the two are bit-identical;
// otherwise the integer layer is within 3 roundings of the exact value while the float graph is
// within (K + 2)·2^−24 of Σ|terms|. MatMulQW on f32 activations: the weights are exact, the sums
// are f32 (bound in assembly/gemm_q4.ts), so it matches the float graph within both graphs'
// summation error.
//
// Ternary weights ({−1, 0, +1}·s: b_w = 2, signed, narrow, z_w = 0, so t is the code) under a
// quantised activation become ai.lowbit TernaryMatMul / TernaryConv (src/ops/ternary.ts): acc =
// Σ (t_x − z_x)·t_w exact in i32, y = f32(f32(acc)·f32(s_x·s_w[n])) + bias — the float output of
// QGemmToFloat, on the 2-bit kernels. On f32 activations they take the 2-bit qw layout (MatMulQW).
// The bias may itself be a quantizer of a constant (Brevitas exports Quant(b, s_x·s_w, 0, 32)):
// it is folded to the values the literal op outputs (quantizedBias), bit for bit.
//
// Quant / BipolarQuant on constant weights holding NaN or ±Inf: LOWBIT_BAD_MODEL naming the node.

import { dtypeBits, type DType } from '../ir/dtype.js';
import type { AttrValue, Graph, Node } from '../ir/graph.js';
import { dequantValue, QKIND } from '../ir/qonnx.js';
import { lowBitTensor, type QuantParams } from '../ir/quant.js';
import { fromNumbers, makeTensor, numel, type TensorData } from '../ir/tensor.js';
import { bipolarPath } from './bipolar.js';
import { GraphView, LOWBIT_DOMAIN } from './graph-view.js';
import type { Pass, PassLog } from './index.js';
import { activationQuant, fits, isQuantizer, quantizedBias, weightQuant, type ActivationQuant, type WeightQuant } from './qonnx-match.js';
import { attrs, floatAttr, intAttr } from './quant-match.js';

/** Largest K the qw kernels take with one block per channel (QW_MAX_BLOCK, K rounded up to 16). */
const QW_MAX_K = 65536;

export const isTernary = (w: WeightQuant): boolean => w.q.kind === QKIND.QUANT && w.q.bits === 2 && w.q.signed && w.q.narrow && w.zp.every((z) => z === 0);

interface Layer {
  anchor: Node;
  w: WeightQuant;
  /** Reduction length, output channels. */
  K: number;
  N: number;
  transB: boolean;
  /** Gemm C / Conv B: '' (none), a float32 initializer of N elements, or the folded values of a quantizer of one. */
  bias: string | Float32Array;
}

const BIAS_FORM = 'the bias is neither a float32 constant of N elements (Gemm: beta = 1) nor a QONNX quantizer of one';

/**
 * The layer around a MatMul / Gemm / Conv anchor whose weight a QONNX quantizer makes; why the
 * rule cannot take it, when it is such a layer; undefined otherwise.
 */
function matchLayer(v: GraphView, n: Node): Layer | string | undefined {
  if (n.domain !== '' || !['MatMul', 'Gemm', 'Conv'].includes(n.opType) || n.inputs[0] === n.inputs[1]) return undefined;
  if (!isQuantizer(v.producer(n.inputs[1]))) return undefined;
  // A constant activation leaves the whole layer to constant folding, on the float kernels.
  if (v.constant(n.inputs[0])) return undefined;
  const conv = n.opType === 'Conv';
  const transB = n.opType === 'Gemm' && intAttr(n, 'transB', 0) === 1;
  const w = weightQuant(v, n.inputs[1], (rank) => (conv || transB ? 0 : rank - 1));
  if (!w) {
    return 'the weight quantizer needs a float32 constant W (rank ≥ 2), a constant bit width, scale > 0 and an integer zero point per tensor or per output channel';
  }
  if (!conv && w.dims.length !== 2) return `the ${n.opType} weight is ${w.dims.length}-D, not 2-D`;
  if (n.opType === 'Gemm' && (intAttr(n, 'transA', 0) !== 0 || floatAttr(n, 'alpha', 1) !== 1)) return 'Gemm needs transA = 0 and alpha = 1';
  const N = w.dims[w.axis];
  const K = numel(w.dims) / N;
  const name = n.inputs[2] ?? '';
  let bias: string | Float32Array | undefined = name;
  if (name !== '') {
    const c = v.constant(name);
    const shaped = c !== undefined && c.dtype === 'float32' && numel(c.dims) === N && c.dims.at(-1) === N && c.dims.length <= (conv ? 1 : 2);
    bias = shaped ? name : quantizedBias(v, name, N);
    if (!bias || (!conv && floatAttr(n, 'beta', 1) !== 1)) return BIAS_FORM;
  }
  return { anchor: n, w, K, N, transB, bias };
}

/** Largest |t − zp| over the weights. */
function weightMagnitude(w: WeightQuant): number {
  const inner = numel(w.dims.slice(w.axis + 1));
  let m = 0;
  for (let i = 0; i < w.t.length; i++) m = Math.max(m, Math.abs(w.t[i] - w.zp[w.zp.length === 1 ? 0 : Math.floor(i / inner) % w.dims[w.axis]]));
  return m;
}

/** One run of the rule: the graph, the names its values have, the integer activations made so far. */
interface Run {
  g: Graph;
  taken: Set<string>;
  /** Quantizer node → its integer activation. */
  made: Map<Node, string>;
}

/** `base`, or `base_1`, `base_2`…: a name no value of the graph has (now taken). */
function freshName(r: Run, base: string): string {
  let name = base;
  for (let i = 1; r.taken.has(name); i++) name = `${base}_${i}`;
  r.taken.add(name);
  return name;
}

function putInitializer(r: Run, base: string, t: TensorData): string {
  const name = freshName(r, base);
  r.g.initializers.set(name, t);
  return name;
}

const putValues = (r: Run, base: string, dtype: DType, dims: number[], values: ArrayLike<number>): string =>
  putInitializer(r, base, fromNumbers(dtype, dims, values));

const perChannelDims = (L: Layer, count: number): number[] => (count === 1 ? [] : [L.N]);

/** The layer's bias input: '' (none), the initializer it names, or a new one holding the folded values. */
const biasInput = (r: Run, L: Layer): string =>
  typeof L.bias === 'string' ? L.bias : putValues(r, `${L.anchor.outputs[0]}_bias`, 'float32', [L.N], L.bias);

/** The layer's bias as an initializer of shape [N] (what the ternary ops take). */
function biasVector(r: Run, L: Layer): string {
  const name = biasInput(r, L);
  const c = name === '' ? undefined : r.g.initializers.get(name)!;
  return !c || c.dims.length === 1 ? name : putInitializer(r, `${name}_vector`, makeTensor('float32', [L.N], c.bytes.slice()));
}

function quantParams(w: WeightQuant): QuantParams {
  return { scale: w.scale, zeroPoint: w.zp, axis: w.axis, blockSize: 0, bits: w.q.bits, signed: w.q.signed, narrow: w.q.narrow };
}

/** Replaces the anchor by `node` (same name and outputs). */
function replaceAnchor(g: Graph, L: Layer, opType: string, inputs: string[], a: Map<string, AttrValue>): void {
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const n = L.anchor;
  g.nodes[g.nodes.indexOf(n)] = { name: n.name, opType, domain: LOWBIT_DOMAIN, inputs, outputs: [...n.outputs], attrs: a };
}

/**
 * The integer activation of quantizer `x` (a QonnxQuantInt / QonnxBipolarInt node placed after
 * the quantizer), made once per quantizer.
 */
function integerActivation(r: Run, x: ActivationQuant): string {
  const have = r.made.get(x.q.node);
  if (have) return have;
  const q = x.q.node;
  const out = freshName(r, `${q.outputs[0]}__int`);
  const node: Node = x.q.kind === QKIND.BIPOLAR
    ? { name: `${q.name}__int`, opType: 'QonnxBipolarInt', domain: LOWBIT_DOMAIN, inputs: [x.x], outputs: [out], attrs: new Map() }
    : { name: `${q.name}__int`, opType: 'QonnxQuantInt', domain: LOWBIT_DOMAIN, inputs: [...q.inputs], outputs: [out], attrs: new Map(q.attrs) };
  r.g.nodes.splice(r.g.nodes.indexOf(q) + 1, 0, node);
  r.g.quant.set(out, { scale: Float32Array.of(x.scale), zeroPoint: Int32Array.of(x.zp), axis: 0, blockSize: 0, bits: x.q.bits, signed: x.q.signed, narrow: x.q.narrow });
  r.made.set(q, out);
  return out;
}

/**
 * Integer activations × integer weights, integer accumulation, then f32 scales: 2/4-bit weights
 * (kept that wide) on MatMulQWQ8 when t_x − z_x fits int8, else int8 weights on QGemmToFloat /
 * QConvToFloat. Returns why not when neither fits.
 */
function integerLayer(r: Run, L: Layer, x: ActivationQuant): true | string {
  const { w } = L;
  const qw = L.anchor.opType === 'Conv' || L.K > QW_MAX_K ? undefined : qwType(w);
  if (qw && dtypeBits(qw) <= 4 && x.q.lo - x.zp >= -128 && x.q.hi - x.zp <= 127) return nBitIntegerLayer(r, L, x, qw);
  const wType: DType = w.q.signed ? 'int8' : 'uint8';
  if (w.q.bits > 8) return `${w.q.bits}-bit weights have no integer kernel (8 bits at most)`;
  if (!fits(wType, w.zp)) return `the weight zero points do not fit ${wType}`;
  const vx = Math.max(Math.abs(x.q.lo - x.zp), Math.abs(x.q.hi - x.zp));
  if (L.K * vx * weightMagnitude(w) >= 2 ** 31) return 'K·max|t_x − z_x|·max|t_w − z_w| ≥ 2^31: the int32 accumulator could overflow';
  const a = integerActivation(r, x);
  const base = L.anchor.outputs[0];
  const aZp = putValues(r, `${base}_x_zero_point`, x.type, [], [x.zp]);
  const wInt = putValues(r, `${L.anchor.inputs[1]}_${wType}`, wType, w.dims, w.t);
  const wZp = putValues(r, `${wInt}_zero_point`, wType, perChannelDims(L, w.zp.length), w.zp);
  const m = Array.from(w.scale, (s) => Math.fround(x.scale * s));
  const scale = putValues(r, `${base}_acc_scale`, 'float32', perChannelDims(L, m.length), m);
  r.g.quant.set(wInt, quantParams(w));
  if (L.anchor.opType === 'Conv') replaceAnchor(r.g, L, 'QConvToFloat', [a, aZp, wInt, wZp, scale, biasInput(r, L)], new Map(L.anchor.attrs));
  else replaceAnchor(r.g, L, 'QGemmToFloat', [a, aZp, wInt, wZp, scale, biasInput(r, L)], attrs({ trans_b: +L.transB }));
  return true;
}

/** The narrowest qw width (2, 4, 8) holding b-bit t and the zero points with the weights' signedness. */
function qwType(w: WeightQuant): DType | undefined {
  for (const bits of [2, 4, 8]) {
    if (bits < w.q.bits) continue;
    const [lo, hi] = w.q.signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
    if (w.zp.every((z) => z >= lo && z <= hi)) return `${w.q.signed ? '' : 'u'}int${bits}` as DType;
  }
  return undefined;
}

/** The weights as MatMulQW / MatMulQWQ8 take them: `type` initializer, scale and zero point, attributes. */
function qwWeights(r: Run, L: Layer, type: DType): { inputs: string[]; attrs: Map<string, AttrValue> } {
  const { w } = L;
  const wq = putInitializer(r, `${L.anchor.inputs[1]}_${type}`, lowBitTensor(type, w.dims, w.t));
  const sName = putValues(r, `${wq}_scale`, 'float32', [w.scale.length], w.scale);
  const zName = putInitializer(r, `${wq}_zero_point`, lowBitTensor(type, [w.zp.length], w.zp));
  r.g.quant.set(wq, quantParams(w));
  return { inputs: [wq, sName, zName], attrs: attrs({ bits: dtypeBits(type), signed: +w.q.signed, trans_b: +L.transB, block_size: 0 }) };
}

/** Integer activations × 2/4-bit weights: MatMulQWQ8. */
function nBitIntegerLayer(r: Run, L: Layer, x: ActivationQuant, type: DType): true {
  const a = integerActivation(r, x);
  const base = L.anchor.outputs[0];
  const aScale = putValues(r, `${base}_x_scale`, 'float32', [], [x.scale]);
  const aZp = putValues(r, `${base}_x_zero_point`, x.type, [], [x.zp]);
  const wq = qwWeights(r, L, type);
  replaceAnchor(r.g, L, 'MatMulQWQ8', [a, aScale, aZp, ...wq.inputs, biasInput(r, L)], wq.attrs);
  return true;
}

/** Integer activations × ternary weights (t in {−1, 0, +1}, z_w = 0): TernaryMatMul / TernaryConv. */
function ternaryLayer(r: Run, L: Layer, x: ActivationQuant): true {
  const a = integerActivation(r, x);
  const base = L.anchor.outputs[0];
  const aScale = putValues(r, `${base}_x_scale`, 'float32', [], [x.scale]);
  const aZp = putValues(r, `${base}_x_zero_point`, x.type, [], [x.zp]);
  const codes = putValues(r, `${L.anchor.inputs[1]}_ternary_codes`, 'int8', L.w.dims, L.w.t);
  const sw = putValues(r, `${codes}_scale`, 'float32', perChannelDims(L, L.w.scale.length), L.w.scale);
  r.g.quant.set(codes, quantParams(L.w));
  const conv = L.anchor.opType === 'Conv';
  const a8 = conv ? new Map(L.anchor.attrs) : attrs({ trans_b: +L.transB });
  replaceAnchor(r.g, L, conv ? 'TernaryConv' : 'TernaryMatMul', [a, aScale, aZp, codes, sw, biasVector(r, L)], a8);
  return true;
}

/** f32 activations × 2/4/8-bit weights: MatMulQW. */
function lowBitWeightLayer(r: Run, L: Layer): boolean {
  const type = L.anchor.opType === 'Conv' || L.K > QW_MAX_K ? undefined : qwType(L.w);
  if (!type) return false;
  const wq = qwWeights(r, L, type);
  replaceAnchor(r.g, L, 'MatMulQW', [L.anchor.inputs[0], ...wq.inputs, biasInput(r, L)], wq.attrs);
  return true;
}

/** A 1-bit weight under a bipolar activation: its f32 values (±s_w), for the binary rule. */
function foldBipolarWeight(r: Run, L: Layer): boolean {
  const { w } = L;
  const inner = numel(w.dims.slice(w.axis + 1));
  const vals = Float32Array.from(w.t, (t, i) => {
    const c = w.scale.length === 1 ? 0 : Math.floor(i / inner) % w.dims[w.axis];
    return dequantValue(t, w.scale[c], w.zp[c]);
  });
  L.anchor.inputs[1] = putInitializer(r, `${L.anchor.inputs[1]}_folded`, makeTensor('float32', w.dims, new Uint8Array(vals.buffer)));
  return true;
}

function rewrite(r: Run, v: GraphView, n: Node, log?: PassLog): boolean {
  const L = matchLayer(v, n);
  if (typeof L === 'string') log?.decline(n, L);
  if (!L || typeof L === 'string') return false;
  const bipolar = L.w.q.bits === 1 && bipolarPath(v, n.inputs[0]) !== undefined;
  if (bipolar) return L.w.q.kind !== QKIND.BIPOLAR && foldBipolarWeight(r, L);
  const rank = n.opType === 'Conv' ? L.w.dims.length : n.opType === 'Gemm' ? 2 : 1;
  const x = activationQuant(v, n.inputs[0], rank);
  if (x && isTernary(L.w)) return ternaryLayer(r, L, x);
  const integer = x ? integerLayer(r, L, x) : undefined;
  if (integer === true || lowBitWeightLayer(r, L)) return true;
  const act = isQuantizer(v.producer(n.inputs[0]))
    ? 'the activation quantizer is not one scale > 0 and an integer zero point (in int8/uint8) on ≤ 8 bits'
    : 'the activation is float (no QONNX quantizer before the layer)';
  log?.decline(n, integer ?? (n.opType === 'Conv' ? `${act}, and there is no n-bit weight × f32 conv kernel` : act));
  return false;
}

export const qonnxQuantPass: Pass = {
  name: 'qonnx-quant',
  run(g, log) {
    const v = new GraphView(g);
    const taken = new Set([...g.initializers.keys(), ...g.inputs.map((i) => i.name), ...g.nodes.flatMap((n) => n.outputs)]);
    const r: Run = { g, taken, made: new Map() };
    return [...g.nodes].reduce((fired, n) => fired + (rewrite(r, v, n, log) ? 1 : 0), 0);
  },
};
