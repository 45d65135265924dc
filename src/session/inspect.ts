// What a session will run: per node, the kernels its plan calls, the arithmetic they do and
// whether it is exact, the bits of its weights and activations, the bytes its weights take packed
// and in fp32, and — for a layer left on the float path — why the low-bit rules declined it; the
// quantization metadata the passes attached; memory totals. `lowbit inspect` renders this;
// tests read it to prove which path a node takes.

import type { Node } from '../ir/graph.js';
import type { QuantParams } from '../ir/quant.js';
import type { Plan } from '../plan/types.js';
import type { Engine } from './engine.js';
import { nodeWeights } from './inspect-weights.js';

/** The arithmetic of a compute kernel, as inspect reports it. */
interface KernelInfo {
  /** e.g. 'f32', 'int8×int8', 'int4×f32'. */
  readonly math: string;
  /** False when the kernel approximates the ONNX semantics by design. */
  readonly exact: boolean;
  /** Bits of the activations the kernel multiplies (compute kernels only). */
  readonly act?: number;
  readonly note?: string;
}

const KERNELS: Record<string, KernelInfo> = {
  gemm_f32: { math: 'f32', exact: true, act: 32 },
  gemm_f32_pp: { math: 'f32', exact: true, act: 32 },
  conv_f32: { math: 'f32', exact: true, act: 32 },
  conv_dw_f32: { math: 'f32', exact: true, act: 32 },
  conv_winograd_f32: { math: 'f32', exact: true, act: 32 },
  conv_transpose_f32: { math: 'f32', exact: true, act: 32 },
  qgemm_i8: { math: 'int8×int8→int32', exact: true, act: 8 },
  conv_i8: { math: 'int8×int8→int32 (implicit GEMM)', exact: true, act: 8 },
  conv_wino_i8: { math: 'int8×int8→int32 (Winograd F(2×2,3×3), exact)', exact: true, act: 8 },
  conv_dw_i8: { math: 'int8 depthwise', exact: true, act: 8 },
  qwgemm_f32: { math: 'n-bit weights × f32', exact: true, act: 32 },
  qwgemm_i8: { math: 'n-bit weights × int8', exact: true, act: 8 },
  quantize_rows_i8: {
    math: 'dynamic quantize', exact: false,
    note: 'activations quantized to int8 per row (MatMulNBits accuracy_level 4): differs from exact float math by design',
  },
  bgemm_b1b1: { math: 'binary×binary (xnor-popcount)', exact: true, act: 1 },
  bconv_b1b1: { math: 'binary×binary (xnor-popcount)', exact: true, act: 1 },
  maxpool_b1: { math: 'max pool on sign bits (and/or)', exact: true },
  tgemm_t2i8: {
    math: 'ternary×int8→int32', exact: true, act: 8,
    note: 'integer accumulation exact; requantised as QLinearConv/QGemm; a float output is f32(acc)·f32(x_scale·w_scale) + bias, one rounding each',
  },
  tconv_t2i8: {
    math: 'ternary×int8→int32 (im2col)', exact: true, act: 8,
    note: 'integer accumulation exact, padding = the zero point; requantised as QLinearConv; a float output is f32(acc)·f32(x_scale·w_scale) + bias, one rounding each',
  },
  lmul_gemm_f32: {
    math: 'L-Mul (integer-add products) → f32 sums', exact: false, act: 32,
    note: 'L-Mul execution mode: each product is one integer add on m-bit mantissas (truncated), sums in f32',
  },
  lmul_conv_f32: {
    math: 'L-Mul (integer-add products, im2col) → f32 sums', exact: false, act: 32,
    note: 'L-Mul execution mode: each product is one integer add on m-bit mantissas (truncated), sums in f32',
  },
  quantize_linear: { math: 'quantize', exact: true },
  fake_quant_q8: { math: 'quantize (QONNX)', exact: true },
  dequantize_linear: { math: 'dequantize', exact: true },
  dynamic_quantize_linear_f32: { math: 'dynamic quantize', exact: true },
};

export interface NodeReport {
  name: string;
  opType: string;
  domain: string;
  /** Kernels the node's steps call, in order, without repeats; [] when folded at load time. */
  kernels: string[];
  /** The kernel(s) doing its arithmetic ('+'-joined compute kernels; else all of them, ',' joined). */
  kernel: string;
  /** The arithmetic of its compute kernels ('' for data movement only). */
  math: string;
  exact: boolean;
  notes: string[];
  /** Bits per weight element (null: the node has no constant weight). */
  weightBits: number | null;
  /** Bits of the activations its compute kernels multiply (null: no compute kernel). */
  activationBits: number | null;
  /** Session bytes its kernels read for the weight with its scales and zero points. */
  packedWeightBytes: number | null;
  /** What the same weights take in fp32. */
  fp32WeightBytes: number | null;
  /** Why the low-bit rules left this layer as it was ('<rule>: <why>; …'), or null. */
  reason: string | null;
}

export interface InspectReport {
  backend: string;
  /** The input shapes this plan is for. */
  inputs: { name: string; dtype: string; dims: number[] }[];
  /** Rewrite rules that fired at load time, with counts. */
  passes: Record<string, number>;
  nodes: NodeReport[];
  /** Over the nodes with weights: bytes packed and in fp32, and fp32 / packed. */
  totals: { layers: number; packedWeightBytes: number; fp32WeightBytes: number; compression: number | null };
  quant: (Omit<QuantParams, 'scale' | 'zeroPoint'> & { value: string; scales: number })[];
  memory: { weightsBytes: number; arenaBytes: number; paramsBytes: number; steps: number };
}

/** ', m = 3' for an L-Mul node (src/passes/lmul.ts), else ''. */
function lmulSuffix(node: Node): string {
  const a = node.attrs.get('mantissa_bits');
  return node.domain === 'ai.lowbit' && node.opType.startsWith('LMul') && a?.type === 'int' ? `, m = ${a.value}` : '';
}

export function inspectPlan(engine: Engine, plan: Plan): InspectReport {
  const byNode = new Map<string, string[]>();
  for (const s of plan.steps) {
    const ks = byNode.get(s.node) ?? [];
    if (!ks.includes(s.kernel)) ks.push(s.kernel);
    byNode.set(s.node, ks);
  }
  const weights = nodeWeights(engine.graph, engine.weights, plan);
  const nodes = engine.resolvedNodes().map(({ node }): NodeReport => {
    const kernels = byNode.get(node.name) ?? [];
    const infos = kernels.map((k) => KERNELS[k]).filter((i): i is KernelInfo => i !== undefined);
    const acts = infos.flatMap((i) => (i.act === undefined ? [] : [i.act]));
    const w = weights.get(node.name);
    // A rule's reasons hold while the node is what the rule declined, or an f32 layer it became.
    const d = engine.declines.get(node.name);
    const floatPath = infos.length > 0 && infos.every((i) => i.math === 'f32');
    const declined = d !== undefined && (floatPath || (d.opType === node.opType && d.domain === node.domain));
    return {
      name: node.name,
      opType: node.opType,
      domain: node.domain === '' ? 'ai.onnx' : node.domain,
      kernels,
      kernel: kernels.some((k) => KERNELS[k]?.act !== undefined) ? kernels.filter((k) => KERNELS[k]?.act !== undefined).join('+') : kernels.join(','),
      math: [...new Set(infos.map((i) => i.math))].join(' + ') + lmulSuffix(node),
      exact: infos.every((i) => i.exact),
      notes: infos.flatMap((i) => (i.note ? [i.note] : [])),
      weightBits: w?.weightBits ?? null,
      activationBits: acts.length > 0 ? Math.min(...acts) : null,
      packedWeightBytes: w?.packedWeightBytes ?? null,
      fp32WeightBytes: w?.fp32WeightBytes ?? null,
      reason: declined ? d.reasons.join('; ') : null,
    };
  });
  const withWeights = nodes.filter((n) => n.packedWeightBytes !== null);
  const packed = withWeights.reduce((s, n) => s + n.packedWeightBytes!, 0);
  const fp32 = withWeights.reduce((s, n) => s + n.fp32WeightBytes!, 0);
  const quant = [...engine.graph.quant.entries()].map(([value, q]) => ({
    value, bits: q.bits, signed: q.signed, narrow: q.narrow, axis: q.axis, blockSize: q.blockSize, scales: q.scale.length,
  }));
  return {
    backend: engine.backend,
    inputs: plan.inputs.map((i) => ({ name: i.name, dtype: i.dtype, dims: [...i.dims] })),
    passes: { ...engine.passes.fired },
    nodes,
    totals: { layers: withWeights.length, packedWeightBytes: packed, fp32WeightBytes: fp32, compression: packed > 0 ? fp32 / packed : null },
    quant,
    memory: { weightsBytes: engine.weights.size, arenaBytes: plan.arenaBytes, paramsBytes: plan.params.byteLength, steps: plan.steps.length },
  };
}
