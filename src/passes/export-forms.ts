// Forms PyTorch's TorchScript exporter writes that hide what the low-bit rules look for, put the
// way qonnx's cleanup would put them (run first, so that every later rule sees them so):
//
// Batch read off the tensor. x.view(x.size(0), …) / x.reshape(x.shape[0], …) with a dynamic batch:
//
//   Reshape(v, Concat(d0, c_1, …))   d0 = Unsqueeze(Gather(Shape(v), 0), [0]),
//                                         Gather(Shape(v), [0]) or Slice(Shape(v), [0], [1])
//
// with constant int64 c_i, Concat on axis 0 and Reshape's allowzero = 0, becomes
// Reshape(v, [0, c_1, …]): with allowzero = 0 a 0 in the target copies the input's dimension,
// which is v's dim 0 — the value d0 holds. The Shape read of v goes (its nodes are dead unless
// something else reads them), so v is read by the Reshape alone again: the binary rules can then
// move a sign past the Reshape and keep the layers around it in bits.
//
// Transposed quantized weights. A Linear's weight quantizer (QONNX Quant / BipolarQuant on a
// constant, which the exporter cannot fold) followed by Transpose:
//
//   Transpose(Q(W, p_1, …))  ⇒  Q(Wᵀ, p_1ᵀ, …)
//
// with W a float32 initializer and every parameter a constant. Q is elementwise with numpy
// broadcasting, so transposing its inputs (each parameter first padded with leading 1s to W's
// rank) gives the transposed output element for element; the rules for weights then see
// Q(initializer). Integer parameters (bit width: one value) pass as they are.

import type { Graph, Node } from '../ir/graph.js';
import { QONNX_DOMAINS } from '../ir/domains.js';
import { makeTensor, fromNumbers, numel, toNumbers, type TensorData } from '../ir/tensor.js';
import { freshName, GraphView } from './graph-view.js';
import type { Pass } from './index.js';

const intAttr = (n: Node, name: string, def: number): number => {
  const a = n.attrs.get(name);
  return a?.type === 'int' ? a.value : def;
};

/** The int64 constant `name` as numbers, if it is one with `rank` dimensions. */
function ints(v: GraphView, name: string | undefined, rank: number): number[] | undefined {
  const t = name ? v.constant(name) : undefined;
  return t && t.dtype === 'int64' && t.dims.length === rank ? toNumbers(t) : undefined;
}

const same = (a: number[] | undefined, b: number[]): boolean => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

const plain = (n: Node | undefined, op: string): boolean => n !== undefined && n.domain === '' && n.opType === op;

/** Whether `value` is Shape(of)[0:1] — the 1-D int64 [dim 0 of `of`] — in one of the forms above. */
function batchOf(v: GraphView, value: string, of: string): boolean {
  const isShape = (s: string) => {
    const n = v.producer(s);
    return n !== undefined && plain(n, 'Shape') && n.inputs[0] === of && intAttr(n, 'start', 0) === 0 && !n.attrs.has('end');
  };
  const p = v.producer(value);
  if (!p) return false;
  if (plain(p, 'Slice')) {
    const ok = same(ints(v, p.inputs[1], 1), [0]) && same(ints(v, p.inputs[2], 1), [1]);
    const axes = p.inputs[3] ? ints(v, p.inputs[3], 1) : [0];
    const steps = p.inputs[4] ? ints(v, p.inputs[4], 1) : [1];
    return ok && same(axes, [0]) && same(steps, [1]) && isShape(p.inputs[0]);
  }
  const gather = (n: Node | undefined, rank: number) =>
    n !== undefined && plain(n, 'Gather') && intAttr(n, 'axis', 0) === 0 && same(ints(v, n.inputs[1], rank), [0]) && isShape(n.inputs[0]);
  if (plain(p, 'Gather')) return gather(p, 1);
  if (!plain(p, 'Unsqueeze')) return false;
  const axes = p.inputs[1] ? ints(v, p.inputs[1], 1) : p.attrs.get('axes')?.type === 'ints' ? (p.attrs.get('axes')!.value as number[]) : undefined;
  return same(axes, [0]) && gather(v.producer(p.inputs[0]), 0);
}

function batchReshape(g: Graph, v: GraphView, n: Node): boolean {
  if (!plain(n, 'Reshape') || intAttr(n, 'allowzero', 0) !== 0 || n.inputs.length !== 2) return false;
  const cat = v.producer(n.inputs[1]);
  if (!cat || !plain(cat, 'Concat') || intAttr(cat, 'axis', 0) !== 0 || cat.inputs.length < 2) return false;
  const rest = cat.inputs.slice(1).map((c) => ints(v, c, 1));
  if (rest.some((r) => r === undefined) || !batchOf(v, cat.inputs[0], n.inputs[0])) return false;
  const target = [0, ...rest.flatMap((r) => r!)];
  const name = freshName(g, `${n.inputs[1]}__batch_copied`);
  g.initializers.set(name, fromNumbers('int64', [target.length], target));
  g.nodes[g.nodes.indexOf(n)] = { ...n, inputs: [n.inputs[0], name] };
  return true;
}

/** A float32 t with its axes permuted (out dim i = in dim perm[i]). */
function transposed(t: TensorData, perm: readonly number[]): TensorData {
  const r = t.dims.length;
  const outDims = perm.map((p) => t.dims[p]);
  const inStrides = t.dims.map((_, i) => numel(t.dims.slice(i + 1)));
  const size = 4;
  const out = makeTensor(t.dtype, outDims);
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < numel(outDims); o++) {
    let src = 0;
    for (let i = 0; i < r; i++) src += idx[i] * inStrides[perm[i]];
    out.bytes.set(t.bytes.subarray(src * size, src * size + size), o * size);
    for (let i = r - 1; i >= 0 && ++idx[i] === outDims[i]; i--) idx[i] = 0;
  }
  return out;
}

const QUANTIZERS = new Set(['Quant', 'IntQuant', 'BipolarQuant']);

function transposedWeightQuant(g: Graph, v: GraphView, n: Node): boolean {
  if (!plain(n, 'Transpose')) return false;
  const q = v.producer(n.inputs[0]);
  const w = q && QONNX_DOMAINS.includes(q.domain) && QUANTIZERS.has(q.opType) ? v.constant(q.inputs[0]) : undefined;
  if (!q || !w || w.dtype !== 'float32' || q.outputs.length !== 1) return false;
  const r = w.dims.length;
  const a = n.attrs.get('perm');
  const perm = a?.type === 'ints' ? (a.value as number[]) : w.dims.map((_, i) => r - 1 - i);
  if (perm.length !== r || [...perm].sort((x, y) => x - y).some((p, i) => p !== i)) return false;
  const params = q.inputs.slice(1).map((p) => (p === '' ? undefined : v.constant(p)));
  if (params.some((p, i) => q.inputs[i + 1] !== '' && (p === undefined || p.dtype !== 'float32' || p.dims.length > r))) return false;
  const put = (base: string, t: TensorData): string => {
    const name = freshName(g, base);
    g.initializers.set(name, t);
    return name;
  };
  const inputs = [put(`${q.inputs[0]}__transposed`, transposed(w, perm))];
  params.forEach((p, i) => {
    const name = q.inputs[i + 1];
    if (!p || numel(p.dims) === 1) return inputs.push(name);
    const full = { ...p, dims: [...new Array<number>(r - p.dims.length).fill(1), ...p.dims] };
    inputs.push(put(`${name}__transposed`, transposed(full, perm)));
  });
  g.nodes[g.nodes.indexOf(n)] = { ...q, name: `${q.name}__transposed`, inputs, outputs: [...n.outputs] };
  return true;
}

export const exportFormsPass: Pass = {
  name: 'export-forms',
  run(g) {
    const v = new GraphView(g);
    return [...g.nodes].reduce((fired, n) => fired + (batchReshape(g, v, n) || transposedWeightQuant(g, v, n) ? 1 : 0), 0);
  },
};
