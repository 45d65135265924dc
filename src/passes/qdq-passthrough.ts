// Data movement and MaxPool between a DequantizeLinear and a QuantizeLinear of the same
// per-tensor parameters run on the integers (onnxruntime's quantize_static writes this pattern
// around MaxPool, Flatten, Reshape, Transpose…; onnxruntime drops the pair the same way):
//
//   DQ(x_q, s, z) ─▶ X ─▶ Q(·, s, z) ─▶ y_q        ⇒        X(x_q) ─▶ y_q
//
// X is MaxPool or an op that only moves or repeats elements (Flatten, Reshape, Transpose, Squeeze,
// Unsqueeze, Identity, Expand, Tile, Slice, Gather, GatherElements, GatherND), reading the DQ as
// its input 0 (the data; indices, shapes and axes stay as they are), or a Concat whose inputs are
// all such DequantizeLinears, of the same parameters, or a Split each of whose outputs some such
// Q reads (one integer Split then writes all the Qs' outputs). x_q is u8 or s8; s is a float32 scalar in
// [2^−100, 2^100] and bit for bit the Q's; z is a scalar of x_q's type and the Q's zero point
// equals it, so the Q writes x_q's type.
//
// Exact. Q(DQ(v)) = v for every v of the type: DQ gives f32((v − z)·s) = (v − z)·s·(1 + δ),
// |δ| ≤ 2^−24, and the Q's division by s adds one more such factor, so with |v − z| ≤ 255 the
// quotient lies within 255·2^−22 of the integer v − z and rounds to it; v is in the type's range,
// so the Q's clamp does nothing. The other ops only move or repeat elements:
// Q(X(DQ(x))) = X(Q(DQ(x))) = X(x). MaxPool takes maxima and DQ is increasing (s > 0), so max DQ(v_i) = DQ(max v_i); a
// window's padding (−∞) never wins over an element, and the integer pool pads with the type's
// minimum, which is also what the Q makes of −∞ (a window of padding only).
// The Q's readers read X's integer output; the DQ and the float X stay for any other readers
// (a MaxPool's Indices output too; dead-node removal drops them otherwise).

import type { Graph, Node } from '../ir/graph.js';
import { GraphView } from './graph-view.js';
import type { Pass, PassLog } from './index.js';
import { activationDQ, isOp, perTensor, qdqParams } from './quant-match.js';

/** The ops that commute with the Q/DQ pair (input 0 is the data). */
const PASSTHROUGH = new Set([
  'MaxPool', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity',
  'Expand', 'Tile', 'Slice', 'Gather', 'GatherElements', 'GatherND',
]);

/** Scales whose Q(DQ(v)) = v argument holds with room to spare (no overflow, no subnormals). */
const okScale = (s: number): boolean => s >= 2 ** -100 && s <= 2 ** 100;

function rewrite(g: Graph, v: GraphView, q: Node, log?: PassLog): boolean {
  // A Q another rewrite took out (a Split's) no longer produces its output.
  if (!isOp(q, 'QuantizeLinear') || v.producer(q.outputs[0]) !== q) return false;
  const x = v.producer(q.inputs[0]);
  if (!x || x.domain !== '' || !(PASSTHROUGH.has(x.opType) || x.opType === 'Concat' || x.opType === 'Split')) return false;
  // The data inputs: every input of a Concat, input 0 of the others.
  const data = x.opType === 'Concat' ? x.inputs.length : 1;
  const dqs = x.inputs.slice(0, data).map((i) => activationDQ(g, v, i));
  const dq = dqs[0];
  if (!dq || dqs.some((d) => !d)) return false;
  const decline = (why: string): false => {
    log?.decline(x, `qdq-passthrough: ${why}`);
    return false;
  };
  const qp = qdqParams(v, q, undefined);
  if (!qp || !perTensor(qp)) return decline('the QuantizeLinear after it is not per-tensor with constant parameters');
  const s = dq.scale[0];
  if (!okScale(s)) return decline(`scale ${s} is outside [2^-100, 2^100]`);
  const same = (p: { type: string; scale: Float32Array; zeroPoint: number[] }): boolean =>
    p.type === dq.type && Object.is(p.scale[0], s) && p.zeroPoint[0] === dq.zeroPoint[0];
  if (!dqs.every((d) => same(d!))) return decline('its inputs are dequantised with different parameters');
  if (!same(qp)) return decline('the QuantizeLinear after it has other parameters than the DequantizeLinear before it');
  const inputs = [...dqs.map((d) => d!.node.inputs[0]), ...x.inputs.slice(data)];
  const name = `${x.name || q.name || q.outputs[0]}__${dq.type}`;
  if (x.opType !== 'Split') {
    g.nodes[g.nodes.indexOf(q)] = { ...x, name, inputs, outputs: [q.outputs[0]] };
    return true;
  }
  // Split: a Q of these parameters on every output; the integer Split takes the place of the
  // first of them in the node order (every reader of the others comes after it) and writes the
  // outputs of all of them.
  const qs = x.outputs.map((o) => v.consumersOf(o).find((r) => {
    const p = isOp(r, 'QuantizeLinear') && r.inputs[0] === o ? qdqParams(v, r, undefined) : undefined;
    return p !== undefined && perTensor(p) && same(p);
  }));
  if (qs.some((r) => !r)) return decline('an output of the Split is not quantised again with the same parameters');
  const at = Math.min(...qs.map((r) => g.nodes.indexOf(r!)));
  g.nodes[at] = { ...x, name, inputs, outputs: qs.map((r) => r!.outputs[0]) };
  g.nodes = g.nodes.filter((n) => !qs.includes(n));
  return true;
}

export const qdqPassthroughPass: Pass = {
  name: 'qdq-passthrough',
  run(g, log) {
    let fired = 0;
    let v = new GraphView(g);
    for (const q of [...g.nodes]) {
      if (!rewrite(g, v, q, log)) continue;
      fired++;
      v = new GraphView(g); // the view changes only when a rewrite does
    }
    return fired;
  },
};
