// What a session will run: per node, the kernels its plan calls, the arithmetic they do and
// whether it is exact; the quantization metadata the passes attached; memory totals. The CLI's
// `lowbit inspect` renders this; tests read it to prove which path a node takes.

import type { QuantParams } from '../ir/quant.js';
import type { Plan } from '../plan/types.js';
import type { Engine } from './engine.js';

/** The arithmetic of a compute kernel, as inspect reports it. */
interface KernelInfo {
  /** e.g. 'f32', 'int8×int8', 'int4×f32'. */
  readonly math: string;
  /** False when the kernel approximates the ONNX semantics by design. */
  readonly exact: boolean;
  readonly note?: string;
}

const KERNELS: Record<string, KernelInfo> = {
  gemm_f32: { math: 'f32', exact: true },
  gemm_f32_pp: { math: 'f32', exact: true },
  conv_f32: { math: 'f32', exact: true },
  conv_dw_f32: { math: 'f32', exact: true },
  conv_transpose_f32: { math: 'f32', exact: true },
  qgemm_i8: { math: 'int8×int8→int32', exact: true },
  conv_i8: { math: 'int8×int8→int32 (implicit GEMM)', exact: true },
  conv_wino_i8: { math: 'int8×int8→int32 (Winograd F(2×2,3×3), exact)', exact: true },
  qwgemm_f32: { math: 'n-bit weights × f32', exact: true },
  qwgemm_i8: {
    math: 'n-bit weights × int8', exact: false,
    note: 'activations quantized to int8 per row (MatMulNBits accuracy_level 4): differs from exact float math by design',
  },
  bgemm_b1b1: { math: 'binary×binary (xnor-popcount)', exact: true },
  bconv_b1b1: { math: 'binary×binary (xnor-popcount)', exact: true },
  quantize_linear: { math: 'quantize', exact: true },
  dequantize_linear: { math: 'dequantize', exact: true },
  dynamic_quantize_linear_f32: { math: 'dynamic quantize', exact: true },
};

export interface NodeReport {
  name: string;
  opType: string;
  domain: string;
  /** Kernels the node's steps call, in order, without repeats; [] when folded at load time. */
  kernels: string[];
  /** The arithmetic of its compute kernels ('' for data movement only). */
  math: string;
  exact: boolean;
  notes: string[];
}

export interface InspectReport {
  backend: string;
  /** Rewrite rules that fired at load time, with counts. */
  passes: Record<string, number>;
  nodes: NodeReport[];
  quant: (Omit<QuantParams, 'scale' | 'zeroPoint'> & { value: string; scales: number })[];
  memory: { weightsBytes: number; arenaBytes: number; paramsBytes: number; steps: number };
}

export function inspectPlan(engine: Engine, plan: Plan): InspectReport {
  const byNode = new Map<string, string[]>();
  for (const s of plan.steps) {
    const ks = byNode.get(s.node) ?? [];
    if (!ks.includes(s.kernel)) ks.push(s.kernel);
    byNode.set(s.node, ks);
  }
  const nodes = engine.resolvedNodes().map(({ node }): NodeReport => {
    const kernels = byNode.get(node.name) ?? [];
    const infos = kernels.map((k) => KERNELS[k]).filter((i): i is KernelInfo => i !== undefined);
    return {
      name: node.name,
      opType: node.opType,
      domain: node.domain === '' ? 'ai.onnx' : node.domain,
      kernels,
      math: [...new Set(infos.map((i) => i.math))].join(' + '),
      exact: infos.every((i) => i.exact),
      notes: infos.flatMap((i) => (i.note ? [i.note] : [])),
    };
  });
  const quant = [...engine.graph.quant.entries()].map(([value, q]) => ({
    value, bits: q.bits, signed: q.signed, narrow: q.narrow, axis: q.axis, blockSize: q.blockSize, scales: q.scale.length,
  }));
  return {
    backend: engine.backend,
    passes: { ...engine.passes.fired },
    nodes,
    quant,
    memory: { weightsBytes: engine.weights.size, arenaBytes: plan.arenaBytes, paramsBytes: plan.params.byteLength, steps: plan.steps.length },
  };
}
