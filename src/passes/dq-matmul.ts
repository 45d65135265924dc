// DequantizeLinear(constant low-bit W) → MatMul / Gemm B  ⇒  ai.lowbit MatMulQW(A, W, scale, zp, bias)
//
// Without this rule constant folding would turn the DequantizeLinear into f32 weights (8× the
// bytes of INT4); with it W stays `bits` wide and runs on the qw kernels (src/ops/matmul-qw.ts).
// It fires when
//   - W is a 2-D initializer of type int2/uint2/int4/uint4/int8/uint8, the scale a float32
//     initializer, the zero point absent or an initializer of W's type and the scale's shape;
//   - seen as the consumer reads it (K rows × N columns), the granularity is per tensor, per output
//     channel (axis = the N axis, scale [N]) or blocked along K (axis = the K axis, block_size a
//     multiple of 16, scale = W's shape with K replaced by ⌈K/block_size⌉);
//   - every consumer reads it as MatMul input 1, or as Gemm input 1 with transA = 0, alpha = 1 and
//     C absent or a float32 initializer of N elements ([N] or [1,N]) with beta = 1 (C becomes the
//     bias); and it is not a graph output.
// The weight's QuantParams are recorded in graph.quant. Anything else is left as it was.

import { dtypeBits, dtypeKind } from '../ir/dtype.js';
import { nodeLabel, type AttrValue, type Graph, type Node } from '../ir/graph.js';
import { lowBitValues, type QuantParams } from '../ir/quant.js';
import { numel, type TensorData } from '../ir/tensor.js';
import { GraphView, LOWBIT_DOMAIN } from './graph-view.js';
import type { Pass, PassLog } from './index.js';

const WEIGHT_TYPES = new Set(['int2', 'uint2', 'int4', 'uint4', 'int8', 'uint8']);
const MAX_BLOCK = 65536;

function intAttr(n: Node, name: string, def: number): number {
  const a = n.attrs.get(name);
  return a?.type === 'int' ? a.value : def;
}

function floatAttr(n: Node, name: string, def: number): number {
  const a = n.attrs.get(name);
  return a?.type === 'float' || a?.type === 'int' ? a.value : def;
}

const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The constant DequantizeLinear's operands, when it is one this rule can absorb. */
interface DQ {
  w: TensorData;
  scale: TensorData;
  zp?: TensorData;
  /** Normalised axis and block size of the DequantizeLinear. */
  axis: number;
  block: number;
}

/**
 * The constant DequantizeLinear's operands, when it is one this rule can absorb; why not, when
 * it dequantizes constant low-bit weights in a form the rule does not take; otherwise undefined.
 */
function constantDQ(v: GraphView, dq: Node): DQ | string | undefined {
  if (dq.domain !== '' || dq.opType !== 'DequantizeLinear') return undefined;
  const [wName, sName, zName = ''] = dq.inputs;
  const w = v.constant(wName);
  const scale = v.constant(sName);
  const zp = v.constant(zName);
  if (!w || !WEIGHT_TYPES.has(w.dtype)) return undefined;
  if (w.dims.length !== 2) return `the ${w.dtype} weight is ${w.dims.length}-D, not 2-D`;
  if (!scale || scale.dtype !== 'float32') return 'the weight scale is not a float32 constant';
  if (zName !== '' && (!zp || zp.dtype !== w.dtype || !same(zp.dims, scale.dims))) return "the weight zero point is not a constant of the weight's type and the scale's shape";
  if (![0, 1].includes(intAttr(dq, 'output_dtype', 0))) return 'DequantizeLinear output_dtype is not float32'; // 0: the scale's type; 1: float32
  const axis = intAttr(dq, 'axis', 1);
  const norm = axis < 0 ? axis + 2 : axis;
  if (norm !== 0 && norm !== 1) return `DequantizeLinear axis ${axis} is out of range`;
  return { w, scale, zp, axis: norm, block: intAttr(dq, 'block_size', 0) };
}

/** Whether the scale fits a granularity the kernels take, with W read as [K, N] or [N, K]. */
function granularityFits(d: DQ, transB: boolean): boolean {
  const [K, N] = transB ? [d.w.dims[1], d.w.dims[0]] : d.w.dims;
  const kAxis = transB ? 1 : 0;
  if (K < 1 || N < 1) return false;
  if (d.block > 0) {
    const kb = Math.ceil(K / d.block);
    return d.axis === kAxis && d.block % 16 === 0 && d.block <= MAX_BLOCK && same(d.scale.dims, transB ? [N, kb] : [kb, N]);
  }
  if (Math.ceil(K / 16) * 16 > MAX_BLOCK) return false;
  if (numel(d.scale.dims) === 1 && d.scale.dims.length <= 1) return true;
  return d.axis === 1 - kAxis && same(d.scale.dims, [N]);
}

/** The bias a consumer contributes: '' for none, the C initializer's name, or undefined when it does not match. */
function consumerBias(v: GraphView, c: Node, value: string, N: (transB: boolean) => number): { transB: boolean; bias: string } | undefined {
  if (c.domain !== '' || c.inputs[1] !== value || c.inputs[0] === value) return undefined;
  if (c.opType === 'MatMul') return { transB: false, bias: '' };
  if (c.opType !== 'Gemm' || intAttr(c, 'transA', 0) !== 0 || floatAttr(c, 'alpha', 1) !== 1) return undefined;
  const transB = intAttr(c, 'transB', 0) === 1;
  const cName = c.inputs[2] ?? '';
  if (cName === '') return { transB, bias: '' };
  const C = v.constant(cName);
  const n = N(transB);
  const rowShaped = C !== undefined && (same(C.dims, [n]) || same(C.dims, [1, n]));
  if (!rowShaped || C.dtype !== 'float32' || floatAttr(c, 'beta', 1) !== 1) return undefined;
  return { transB, bias: cName };
}

function quantParams(d: DQ): QuantParams {
  const bits = dtypeBits(d.w.dtype);
  const scale = new Float32Array(d.scale.bytes.slice().buffer);
  return {
    scale,
    zeroPoint: d.zp ? lowBitValues(d.zp) : new Int32Array(scale.length),
    axis: d.axis,
    blockSize: d.block,
    bits,
    signed: dtypeKind(d.w.dtype) === 'int',
    narrow: false,
  };
}

const GEMM_FORM = 'Gemm needs transA = 0, alpha = 1 and C absent or a float32 [N] or [1, N] with beta = 1';
const GRANULARITY = 'the weight scale is not per tensor, per output channel, or in blocks along K of a multiple of 16 (at most 65536)';

function rewrite(g: Graph, v: GraphView, dq: Node, log?: PassLog): boolean {
  const value = dq.outputs[0];
  if (value === undefined || value === '') return false;
  const consumers = v.consumersOf(value);
  const layers = consumers.filter((c) => c.domain === '' && (c.opType === 'MatMul' || c.opType === 'Gemm'));
  const decline = (reason: string): false => {
    for (const c of layers) log?.decline(c, reason);
    return false;
  };
  const d = constantDQ(v, dq);
  if (typeof d === 'string') return decline(d);
  if (!d || consumers.length === 0) return false;
  if (g.outputs.some((o) => o.name === value)) return decline('the dequantized weight is also a graph output');
  const N = (transB: boolean) => (transB ? d.w.dims[0] : d.w.dims[1]);
  const matches = consumers.map((c) => consumerBias(v, c, value, N));
  const bad = consumers.find((_, i) => !matches[i]);
  if (bad) {
    const why = !layers.includes(bad) ? `the dequantized weight is also read by ${nodeLabel(bad)}`
      : bad.inputs[1] !== value || bad.inputs[0] === value ? 'the dequantized weight is not read as input B' : GEMM_FORM;
    return decline(why);
  }
  if (matches.some((m) => !granularityFits(d, m!.transB))) return decline(GRANULARITY);
  const [wName, sName, zName = ''] = dq.inputs;
  consumers.forEach((c, i) => {
    const m = matches[i]!;
    const attrs = new Map<string, AttrValue>([
      ['bits', { type: 'int', value: dtypeBits(d.w.dtype) }],
      ['signed', { type: 'int', value: dtypeKind(d.w.dtype) === 'int' ? 1 : 0 }],
      ['trans_b', { type: 'int', value: m.transB ? 1 : 0 }],
      ['block_size', { type: 'int', value: d.block }],
    ]);
    const inputs = [c.inputs[0], wName, sName, zName, m.bias];
    while (inputs[inputs.length - 1] === '') inputs.pop();
    g.nodes[g.nodes.indexOf(c)] = { name: c.name, opType: 'MatMulQW', domain: LOWBIT_DOMAIN, inputs, outputs: [...c.outputs], attrs };
  });
  g.quant.set(wName, quantParams(d));
  return true;
}

export const dqMatmulPass: Pass = {
  name: 'dq-matmul',
  run(g, log) {
    const v = new GraphView(g);
    return g.nodes.filter((n) => n.opType === 'DequantizeLinear').reduce((fired, dq) => fired + (rewrite(g, v, dq, log) ? 1 : 0), 0);
  },
};
