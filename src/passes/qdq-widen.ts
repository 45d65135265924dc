// Sub-byte QDQ activations → 8-bit containers, so the integer layer rules (qdq-int8.ts,
// ternary.ts) see them as the u8/s8 activations their kernels read:
//
//   Q(x, s, z: T) ─▶ DQ(·, s', z': T) …     T ∈ {int2, uint2, int4, uint4}
//   ⇒ Q(x, s, z8: T8) ─▶ Clip(·, T.min, T.max) ─▶ DQ(·, s', z8': T8) …    T8 = int8 / uint8
//
// (z8, z8' hold z, z' as 8-bit values; without a zero point, output_dtype names T8). It fires when
// the QuantizeLinear's output is read by DequantizeLinear nodes only (as their input 0, each
// zero point absent or a constant) and is not a graph output; x is not a constant (a constant
// Q → DQ folds at load). Sub-byte tensors are packed in memory, so no kernel could read a T value
// directly; a T8 byte holds each one.
//
// Exact. QuantizeLinear computes v = round_half_even(x / s) + z and clamps it to T's range; to
// T8's range first and then to T's (nested in it) is the same clamp. NaN: lowbit's kernel
// (assembly/quant_elem.ts) takes it to the type's minimum, and T8.min clamped up is T.min, what
// the T quantizer gives; ±Inf go to the ends of both. DequantizeLinear then reads the same
// integer with the same scale and zero point value: the same float, bit for bit.
// The integer rules absorb a requantising Q → Clip into the layer (y_min / y_max); a Q → Clip
// left standing (no layer before it takes it) runs as QuantizeLinear then an integer Clip.

import { dtypeCode, type DType } from '../ir/dtype.js';
import type { Graph, Node } from '../ir/graph.js';
import { lowBitValues } from '../ir/quant.js';
import { fromNumbers } from '../ir/tensor.js';
import { freshName, GraphView } from './graph-view.js';
import type { Pass } from './index.js';
import { addInitializer, intAttr, isOp } from './quant-match.js';

const NARROW: Record<string, { wide: DType; lo: number; hi: number }> = {
  int2: { wide: 'int8', lo: -2, hi: 1 },
  uint2: { wide: 'uint8', lo: 0, hi: 3 },
  int4: { wide: 'int8', lo: -8, hi: 7 },
  uint4: { wide: 'uint8', lo: 0, hi: 15 },
};

/** output_dtype codes of the sub-byte integer types. */
const BY_CODE: Record<number, DType> = { 21: 'uint4', 22: 'int4', 25: 'uint2', 26: 'int2' };

/** The sub-byte type a QuantizeLinear writes (its zero point's type, else output_dtype), if it writes one. */
function narrowType(v: GraphView, q: Node): DType | undefined {
  const z = q.inputs[2] ?? '';
  if (z === '') return BY_CODE[intAttr(q, 'output_dtype', 0)];
  const t = v.constant(z);
  return t && NARROW[t.dtype] ? t.dtype : undefined;
}

/** The zero point input `name` ('' stays '') as an 8-bit constant of `wide`. */
function widenZeroPoint(g: Graph, v: GraphView, name: string, wide: DType): string {
  if (name === '') return '';
  const t = v.constant(name)!;
  const base = freshName(g, `${name}__${wide}`);
  g.initializers.set(base, fromNumbers(wide, t.dims, lowBitValues(t)));
  return base;
}

function rewrite(g: Graph, v: GraphView, q: Node): boolean {
  if (!isOp(q, 'QuantizeLinear') || v.constant(q.inputs[0])) return false;
  const type = narrowType(v, q);
  const out = q.outputs[0];
  if (!type || g.outputs.some((o) => o.name === out)) return false;
  const readers = v.consumersOf(out);
  const dqOk = (n: Node) => isOp(n, 'DequantizeLinear') && n.inputs[0] === out && !n.inputs.slice(1).includes(out) &&
    ((n.inputs[2] ?? '') === '' || v.constant(n.inputs[2])?.dtype === type);
  if (readers.length === 0 || !readers.every(dqOk)) return false;
  const { wide, lo, hi } = NARROW[type];
  const q8 = freshName(g, `${out}__${wide}`);
  const clipped = freshName(g, `${out}__clip`);
  const attrs = new Map(q.attrs);
  if ((q.inputs[2] ?? '') === '') attrs.set('output_dtype', { type: 'int', value: dtypeCode(wide) });
  else attrs.delete('output_dtype');
  const z8 = widenZeroPoint(g, v, q.inputs[2] ?? '', wide);
  const at = g.nodes.indexOf(q);
  g.nodes[at] = { ...q, inputs: z8 === '' ? q.inputs.slice(0, 2) : [q.inputs[0], q.inputs[1], z8], outputs: [q8], attrs };
  // An unsigned T's minimum is T8's too: no lower bound.
  const min = lo === 0 ? '' : addInitializer(g, `${out}__min`, wide, [], [lo]);
  const bounds = [min, addInitializer(g, `${out}__max`, wide, [], [hi])];
  g.nodes.splice(at + 1, 0, { name: `${q.name}__clip`, opType: 'Clip', domain: '', inputs: [q8, ...bounds], outputs: [clipped], attrs: new Map() });
  for (const dq of readers) {
    const z = widenZeroPoint(g, v, dq.inputs[2] ?? '', wide);
    g.nodes[g.nodes.indexOf(dq)] = { ...dq, inputs: z === '' ? [clipped, dq.inputs[1]] : [clipped, dq.inputs[1], z] };
  }
  return true;
}

export const qdqWidenPass: Pass = {
  name: 'qdq-widen',
  run(g) {
    let fired = 0;
    for (const q of [...g.nodes]) if (rewrite(g, new GraphView(g), q)) fired++;
    return fired;
  },
};
