// Weight accounting for inspect: which input of a layer is its weight, how many bits a weight
// element takes, the bytes the session holds for it — the kernel's packed layout, with the scales
// and zero points that describe it — and what the same weights take in fp32 (4 bytes each).

import { dtypeBits } from '../ir/dtype.js';
import type { Graph, Node } from '../ir/graph.js';
import { numel } from '../ir/tensor.js';
import { isRef, type Plan } from '../plan/types.js';
import type { WeightStore } from '../plan/weights.js';

interface WeightSlot {
  /** Input index of the weight tensor. */
  readonly weight: number;
  /** Inputs that describe it (scales, zero points): their bytes count as the weight's. */
  readonly params?: readonly number[];
  /** Element count and bits when the tensor's own dims and type do not say (packed blobs). */
  readonly packed?: (n: Node) => { elements: number; bits: number };
}

const intAttr = (n: Node, name: string, def: number): number => {
  const a = n.attrs.get(name);
  return a?.type === 'int' ? a.value : def;
};

/** Layers with a weight operand, by `domain::opType` ('' is ai.onnx). */
const WEIGHTS: Record<string, WeightSlot> = {
  '::MatMul': { weight: 1 },
  '::Gemm': { weight: 1 },
  '::Conv': { weight: 1 },
  '::ConvTranspose': { weight: 1 },
  '::MatMulInteger': { weight: 1, params: [3] },
  '::ConvInteger': { weight: 1, params: [3] },
  '::QLinearMatMul': { weight: 3, params: [4, 5] },
  '::QLinearConv': { weight: 3, params: [4, 5] },
  'ai.lowbit::FusedMatMul': { weight: 1 },
  'ai.lowbit::FusedGemm': { weight: 1 },
  'ai.lowbit::FusedConv': { weight: 1 },
  'ai.lowbit::MatMulQW': { weight: 1, params: [2, 3] },
  'ai.lowbit::BinaryMatMul': { weight: 1, params: [2] },
  'ai.lowbit::BinaryConv': { weight: 1, params: [2] },
  'ai.lowbit::QGemm': { weight: 3, params: [4, 5] },
  'ai.lowbit::QGemmToFloat': { weight: 2, params: [3, 4] },
  'ai.lowbit::QConvToFloat': { weight: 2, params: [3, 4] },
  'ai.lowbit::MatMulQWQ8': { weight: 3, params: [4, 5] },
  'ai.lowbit::TernaryMatMul': { weight: 3, params: [4] },
  'ai.lowbit::TernaryConv': { weight: 3, params: [4] },
  'com.microsoft::MatMulNBits': {
    weight: 1, params: [2, 3],
    packed: (n) => ({ elements: intAttr(n, 'N', 0) * intAttr(n, 'K', 0), bits: intAttr(n, 'bits', 4) }),
  },
};

export interface NodeWeights {
  /** Bits per weight element: the quantization the passes recorded, else the tensor's type. */
  weightBits: number;
  /** Session bytes the node's kernels read for the weight, its scales and zero points. */
  packedWeightBytes: number;
  /** The same weights as fp32: 4 bytes per element. */
  fp32WeightBytes: number;
}

/**
 * Weight figures per node name, for nodes whose weight is a constant the plan's steps read from
 * the session's W region (a layer on two runtime operands has none).
 */
export function nodeWeights(graph: Graph, weights: WeightStore, plan: Plan): Map<string, NodeWeights> {
  const entries = weights.entries().sort((a, b) => a.offset - b.offset);
  const entryAt = (o: number) => {
    let lo = 0;
    let hi = entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = entries[mid];
      if (o < e.offset) hi = mid - 1;
      else if (o >= e.offset + Math.max(e.bytes, 1)) lo = mid + 1;
      else return e;
    }
    return undefined;
  };
  const read = new Map<string, Map<string, number>>();
  for (const s of plan.steps) {
    for (const a of s.args) {
      const e = isRef(a) && a.r === 'W' ? entryAt(a.o) : undefined;
      if (!e) continue;
      const m = read.get(s.node) ?? new Map<string, number>();
      m.set(e.key, e.bytes);
      read.set(s.node, m);
    }
  }
  const out = new Map<string, NodeWeights>();
  for (const n of graph.nodes) {
    const slot = WEIGHTS[`${n.domain}::${n.opType}`];
    const wName = slot ? n.inputs[slot.weight] : undefined;
    const t = wName ? graph.initializers.get(wName) : undefined;
    if (!slot || !wName || !t) continue;
    const names = [wName, ...(slot.params ?? []).map((i) => n.inputs[i] ?? '')].filter((x) => x !== '');
    // W keys are an initializer's name, or `name#form` for a form derived from it.
    const own = (key: string) => names.some((x) => key === x || key.startsWith(`${x}#`));
    const packedWeightBytes = [...(read.get(n.name) ?? [])].reduce((sum, [key, bytes]) => sum + (own(key) ? bytes : 0), 0);
    if (packedWeightBytes === 0) continue;
    const { elements, bits } = slot.packed?.(n) ?? { elements: numel(t.dims), bits: graph.quant.get(wName)?.bits ?? dtypeBits(t.dtype) };
    out.set(n.name, { weightBits: bits, packedWeightBytes, fp32WeightBytes: 4 * elements });
  }
  return out;
}
