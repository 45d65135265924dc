// Epilogue fusion: an f32 Conv, MatMul or Gemm whose only reader is a Relu or a Clip with
// constant bounds becomes one internal node (`ai.lowbit` FusedConv / FusedMatMul / FusedGemm)
// that applies the activation as each tile is stored, instead of a second pass over memory. The
// binary layers (`ai.lowbit` BinaryMatMul / BinaryConv, src/passes/binary.ts) take the same
// activation attributes into their f32 epilogue and keep their name.
//
// Exact: the kernels' epilogues compute max(y, 0) and min(max(y, lo), hi) with the same wasm
// f32 min/max the Relu and Clip kernels use (NaN propagates in both), on the same rounded y.
// Gemm fuses only when its bias is applied in the GEMM epilogue (alpha = beta = 1, transA = 0,
// C absent or one row of N), so the activation still comes last.

import type { Graph, Node } from '../ir/graph.js';
import { toNumbers } from '../ir/tensor.js';
import { GraphView, LOWBIT_DOMAIN } from './graph-view.js';
import type { Pass } from './index.js';

const FUSED: Record<string, string> = { Conv: 'FusedConv', MatMul: 'FusedMatMul', Gemm: 'FusedGemm' };
const BINARY = new Set(['BinaryMatMul', 'BinaryConv']);

/** The op type `n` becomes with an activation fused, or undefined when it takes none. */
function fusedOpType(n: Node): string | undefined {
  if (n.domain === '') return FUSED[n.opType];
  return n.domain === LOWBIT_DOMAIN && BINARY.has(n.opType) && !n.attrs.has('activation') ? n.opType : undefined;
}

function num(n: Node, name: string, def: number): number {
  const a = n.attrs.get(name);
  return a && (a.type === 'int' || a.type === 'float') ? a.value : def;
}

/** The activation a Relu/Clip node applies, when its bounds are known constants. */
export function activationOf(v: GraphView, n: Node): { act: 1 | 2; lo: number; hi: number } | undefined {
  if (n.domain !== '') return undefined;
  if (n.opType === 'Relu') return { act: 1, lo: 0, hi: 0 };
  if (n.opType !== 'Clip') return undefined;
  const opset = v.graph.opsets.get('') ?? 1;
  if (opset < 11) return { act: 2, lo: num(n, 'min', -Infinity), hi: num(n, 'max', Infinity) };
  const bound = (i: number, def: number): number | undefined => {
    if (!n.inputs[i]) return def;
    const t = v.constant(n.inputs[i]);
    if (!t || t.dtype !== 'float32') return undefined;
    const vals = toNumbers(t);
    return vals.length === 1 ? vals[0] : undefined;
  };
  const lo = bound(1, -Infinity);
  const hi = bound(2, Infinity);
  return lo === undefined || hi === undefined ? undefined : { act: 2, lo, hi };
}

/** Gemm applies its bias in the GEMM epilogue only in this form (see src/ops/matmul.ts). */
function gemmFusable(v: GraphView, n: Node): boolean {
  if (num(n, 'alpha', 1) !== 1 || num(n, 'beta', 1) !== 1 || num(n, 'transA', 0) !== 0) return false;
  if (!n.inputs[2]) return true;
  const c = v.constant(n.inputs[2]);
  if (!c) return false;
  const N = c.dims[c.dims.length - 1];
  return N > 1 && (c.dims.length === 1 || (c.dims.length === 2 && c.dims[0] === 1));
}

export const fuseActivationPass: Pass = {
  name: 'fuse-activation',
  run(g: Graph): number {
    const v = new GraphView(g);
    let fired = 0;
    for (const n of [...g.nodes]) {
      const opType = fusedOpType(n);
      if (!opType || !v.singleUse(n.outputs[0])) continue;
      if (n.domain === '' && n.opType === 'Gemm' && !gemmFusable(v, n)) continue;
      const a = v.consumersOf(n.outputs[0])[0];
      const act = activationOf(v, a);
      if (!act || a.inputs[0] !== n.outputs[0]) continue;
      const attrs = new Map(n.attrs);
      attrs.set('activation', { type: 'int', value: act.act });
      attrs.set('activation_lo', { type: 'float', value: act.lo });
      attrs.set('activation_hi', { type: 'float', value: act.hi });
      g.nodes[g.nodes.indexOf(n)] = { ...n, opType, domain: LOWBIT_DOMAIN, outputs: [...a.outputs], attrs };
      g.nodes.splice(g.nodes.indexOf(a), 1);
      fired++;
    }
    return fired;
  },
};
