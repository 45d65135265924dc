// Dynamic int8 layer → ai.lowbit QGemmToFloat (onnxruntime quantize_dynamic's form).
//
//   MatMulInteger(a_q, W_q, a_zp, w_zp) → Cast(to float) → Mul(·, s) → [Add(·, bias)] → [Relu]
//
// W_q is a constant u8/s8 [K, N] with a per-tensor or per-column zero point; a_zp one value
// (the DynamicQuantizeLinear's); s a float32 value known to hold one value or [N] (a constant,
// DynamicQuantizeLinear's scale, or a Mul of such — x_scale·w_scale in quantize_dynamic's
// graphs); bias a float32 constant [N]. The node computes the same float operations in the same
// order — y = f32(acc), y = y·s, y = y + bias, y = max(y, 0), each one f32 rounding — on the
// exact i32 accumulator, so it is bit-exact with the graph: the Mul and Add are commutative in
// IEEE arithmetic, and s is the graph's own value (its Mul stays a node), not a product formed
// here. Shapes that would broadcast the result beyond [..., N] are not matched.
// Each intermediate value must have the next node as its only reader; the DynamicQuantizeLinear
// stays a node (it produces a_q, a_zp and the scale the rule reads).

import type { DType } from '../ir/dtype.js';
import type { Graph, Node } from '../ir/graph.js';
import { numel } from '../ir/tensor.js';
import { GraphView, LOWBIT_DOMAIN } from './graph-view.js';
import type { Pass, PassLog } from './index.js';
import { attrs, intAttr, isOp, qdqParams, quantParamsOf, replaceChain, soleConsumer } from './quant-match.js';

const FLOAT = 1;

interface Known {
  dtype: DType;
  dims: number[];
}

/** numpy broadcasting of two shapes, or undefined when they do not broadcast. */
function broadcast(a: number[], b: number[]): number[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Type and shape of a value, where the graph fixes them without running it. */
function known(g: Graph, v: GraphView, name: string, depth = 0): Known | undefined {
  const c = v.constant(name);
  if (c) return { dtype: c.dtype, dims: [...c.dims] };
  const p = v.producer(name);
  if (p?.domain === '' && p.opType === 'DynamicQuantizeLinear') {
    const i = p.outputs.indexOf(name);
    return i === 1 ? { dtype: 'float32', dims: [] } : i === 2 ? { dtype: 'uint8', dims: [] } : undefined;
  }
  if (depth < 4 && p && p.domain === '' && (p.opType === 'Mul' || p.opType === 'Div')) {
    const [a, b] = p.inputs.map((i) => known(g, v, i, depth + 1));
    const dims = a && b && a.dtype === b.dtype ? broadcast(a.dims, b.dims) : undefined;
    return dims ? { dtype: a!.dtype, dims } : undefined;
  }
  const decl = g.inputs.find((i) => i.name === name) ?? g.valueInfo.get(name);
  return decl?.shape?.every((d) => typeof d === 'number') ? { dtype: decl.dtype, dims: decl.shape as number[] } : undefined;
}

/** One value, or a 1-D [N]: what multiplies or adds to [..., N] without changing its shape. */
const perColumnOrOne = (k: Known | undefined, N: number): boolean =>
  k !== undefined && k.dtype === 'float32' && (k.dims.length === 0 || (k.dims.length === 1 && (k.dims[0] === 1 || k.dims[0] === N)));

/** The operand of a binary node that is not `value`, when `value` is exactly one of them. */
function other(n: Node, value: string): string | undefined {
  if (n.inputs.length !== 2 || n.inputs[0] === n.inputs[1]) return undefined;
  return n.inputs[0] === value ? n.inputs[1] : n.inputs[1] === value ? n.inputs[0] : undefined;
}

function rewrite(g: Graph, mm: Node, log?: PassLog): boolean {
  const v = new GraphView(g);
  const decline = (reason: string): false => {
    log?.decline(mm, reason);
    return false;
  };
  const [a, wName, aZp = '', wZp = ''] = mm.inputs;
  const w = v.constant(wName);
  if (!w || (w.dtype !== 'uint8' && w.dtype !== 'int8') || w.dims.length !== 2) return decline('B is not a constant 2-D uint8/int8');
  const N = w.dims[1];
  if (wZp !== '') {
    const z = v.constant(wZp);
    if (!z || z.dtype !== w.dtype || !(z.dims.length === 0 || (z.dims.length === 1 && (z.dims[0] === 1 || z.dims[0] === N)))) return decline("B's zero point is not a constant of one value or one per column");
  }
  if (aZp !== '') {
    const k = known(g, v, aZp);
    if (!k || numel(k.dims) !== 1) return decline("A's zero point is not known to be one value");
  }
  const cast = soleConsumer(v, mm.outputs[0]);
  if (!isOp(cast, 'Cast') || intAttr(cast, 'to', 0) !== FLOAT) return decline('the result is not Cast to float by its only reader');
  const mul = soleConsumer(v, cast.outputs[0]);
  const scale = isOp(mul, 'Mul') ? other(mul, cast.outputs[0]) : undefined;
  if (!mul || scale === undefined || !perColumnOrOne(known(g, v, scale), N)) return decline('the float result is not multiplied by a float32 scale of one value or [N] by its only reader');
  const chain = [mm, cast, mul];
  let bias = '';
  const add = soleConsumer(v, mul.outputs[0]);
  const addend = isOp(add, 'Add') ? other(add, mul.outputs[0]) : undefined;
  const b = addend === undefined ? undefined : v.constant(addend);
  if (add && addend !== undefined && b && b.dtype === 'float32' && b.dims.length === 1 && b.dims[0] === N) {
    chain.push(add);
    bias = addend;
  }
  const relu = soleConsumer(v, chain.at(-1)!.outputs[0]);
  if (isOp(relu, 'Relu')) chain.push(relu);
  const inputs = [a, aZp, wName, wZp, scale, bias];
  if (bias === '') inputs.pop();
  const act: Record<string, number> = isOp(relu, 'Relu') ? { act_min: 0 } : {};
  replaceChain(g, chain, {
    name: mm.name, opType: 'QGemmToFloat', domain: LOWBIT_DOMAIN, inputs, outputs: [chain.at(-1)!.outputs[0]],
    attrs: attrs({ trans_b: 0, ...act }, ['act_min']),
  });
  recordWeightParams(g, v, scale, wName, wZp, w.dtype);
  return true;
}

/** W's QuantParams when the scale is quantize_dynamic's Mul(x_scale, constant w_scale). */
function recordWeightParams(g: Graph, v: GraphView, scale: string, wName: string, wZp: string, wType: DType): void {
  const p = v.producer(scale);
  if (!isOp(p, 'Mul')) return;
  const consts = p.inputs.filter((i) => v.constant(i) !== undefined);
  if (consts.length !== 1) return;
  const params = qdqParams(v, { name: '', opType: 'DequantizeLinear', domain: '', inputs: [wName, consts[0], wZp], outputs: [], attrs: new Map() }, wType, 2);
  if (params) g.quant.set(wName, quantParamsOf({ ...params, axis: 1 }));
}

export const dynamicInt8Pass: Pass = {
  name: 'dynamic-int8',
  run(g, log) {
    let fired = 0;
    for (const n of [...g.nodes]) if (isOp(n, 'MatMulInteger') && g.nodes.includes(n) && rewrite(g, n, log)) fired++;
    return fired;
  },
};
