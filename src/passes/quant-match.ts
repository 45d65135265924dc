// What the int8 rules (qdq-int8.ts, dynamic-int8.ts) read off a graph: constant quantisation
// parameters of QuantizeLinear / DequantizeLinear nodes, activations around an anchor, and how
// they rewrite (new initializers, replacing a chain of nodes by one).

import { dtypeBits, type DType } from '../ir/dtype.js';
import type { AttrValue, Graph, Node } from '../ir/graph.js';
import { lowBitValues, type QuantParams } from '../ir/quant.js';
import { makeTensor, numel, typedView, type TensorData } from '../ir/tensor.js';
import type { GraphView } from './graph-view.js';

export type Q8 = 'uint8' | 'int8';
const isQ8 = (t: DType | undefined): t is Q8 => t === 'uint8' || t === 'int8';

export function intAttr(n: Node, name: string, def: number): number {
  const a = n.attrs.get(name);
  return a?.type === 'int' ? a.value : def;
}

export function floatAttr(n: Node, name: string, def: number): number {
  const a = n.attrs.get(name);
  return a?.type === 'float' || a?.type === 'int' ? a.value : def;
}

export const isOp = (n: Node | undefined, op: string): n is Node => n !== undefined && n.domain === '' && n.opType === op;

/** Numbers of a constant (float32, int32, uint8, int8, and the packed int2/uint2/int4/uint4). */
export const valuesOf = (t: TensorData): number[] =>
  Array.from(dtypeBits(t.dtype) < 8 ? lowBitValues(t) : (typedView(t) as ArrayLike<number>));

/** The sub-byte integer types a DequantizeLinear's weights may have (values that fit int8 / uint8). */
export const SUB_BYTE = new Set<DType>(['int2', 'uint2', 'int4', 'uint4']);

/**
 * Quantisation parameters of a QuantizeLinear / DequantizeLinear node whose scale and zero point
 * are constants: float32 scale, an 8-bit (or, for a DequantizeLinear of int32, int32 zero)
 * zero point, no blocks. `type` is the quantised side's type; `count` 1 means per tensor.
 */
export interface QDQParams {
  node: Node;
  type: DType;
  scale: Float32Array;
  zeroPoint: number[];
  /** Normalised against `rank` when the caller gave one; as written otherwise. */
  axis: number;
}

export function qdqParams(v: GraphView, n: Node, quantised: DType | undefined, rank?: number): QDQParams | undefined {
  const [, sName, zName = ''] = n.inputs;
  const s = v.constant(sName);
  const z = zName === '' ? undefined : v.constant(zName);
  if (!s || s.dtype !== 'float32' || (zName !== '' && !z) || intAttr(n, 'block_size', 0) !== 0) return undefined;
  const outType = intAttr(n, 'output_dtype', 0);
  // QuantizeLinear without a zero point makes uint8 unless output_dtype (2 uint8, 3 int8) says otherwise.
  const type = z?.dtype ?? quantised ?? (n.opType === 'QuantizeLinear' ? ({ 0: 'uint8', 2: 'uint8', 3: 'int8' } as Record<number, DType>)[outType] : undefined);
  if (!type || (n.opType === 'DequantizeLinear' && outType !== 0 && outType !== 1)) return undefined;
  if (z && (z.dtype !== type || numel(z.dims) !== numel(s.dims))) return undefined;
  const scale = new Float32Array(typedView(s) as Float32Array);
  let axis = intAttr(n, 'axis', 1);
  if (rank !== undefined && axis < 0) axis += rank;
  return { node: n, type, scale, zeroPoint: z ? valuesOf(z) : new Array<number>(scale.length).fill(0), axis };
}

export const perTensor = (p: QDQParams): boolean => p.scale.length === 1;

/** The dtype of a value when the graph says it: initializer, graph input, declared value_info. */
export function declaredType(g: Graph, name: string): DType | undefined {
  return g.initializers.get(name)?.dtype ?? g.inputs.find((i) => i.name === name)?.dtype ?? g.valueInfo.get(name)?.dtype;
}

/** A DequantizeLinear of a per-tensor u8/s8 value: the activation input of an integer layer. */
export function activationDQ(g: Graph, v: GraphView, value: string): (QDQParams & { type: Q8 }) | undefined {
  const dq = v.producer(value);
  if (!isOp(dq, 'DequantizeLinear')) return undefined;
  const p = qdqParams(v, dq, declaredType(g, dq.inputs[0]));
  return p && isQ8(p.type) && perTensor(p) ? (p as QDQParams & { type: Q8 }) : undefined;
}

/**
 * A DequantizeLinear of constant u8/s8 weights — or, with `subByte`, int2/uint2/int4/uint4 ones,
 * whose values fit the 8-bit type of their signedness — per tensor or per channel along `axis`.
 * `type` is the 8-bit type the integer kernels take the values as; `w` the constant as stored.
 */
export function weightDQ(v: GraphView, value: string, axis: number, subByte = false): (QDQParams & { w: TensorData; type: Q8 }) | undefined {
  const dq = v.producer(value);
  if (!isOp(dq, 'DequantizeLinear')) return undefined;
  const w = v.constant(dq.inputs[0]);
  if (!w || !(isQ8(w.dtype) || (subByte && SUB_BYTE.has(w.dtype))) || w.dims.length < 2) return undefined;
  const p = qdqParams(v, dq, w.dtype, w.dims.length);
  if (!p) return undefined;
  const ok = perTensor(p) || (p.axis === axis && p.scale.length === w.dims[axis]);
  return ok ? { ...p, w, type: w.dtype.startsWith('u') ? 'uint8' : 'int8' } : undefined;
}

/** What a ReLU or Clip (constant bounds) after the anchor does: clamp to [lo, hi]. */
export interface Activation {
  node: Node;
  lo: number;
  hi: number;
}

export function activation(v: GraphView, n: Node | undefined): Activation | undefined {
  if (!n || n.domain !== '') return undefined;
  if (n.opType === 'Relu') return { node: n, lo: 0, hi: Infinity };
  if (n.opType !== 'Clip') return undefined;
  const bound = (i: number, attr: string, def: number): number | undefined => {
    if (n.attrs.has(attr)) return floatAttr(n, attr, def);
    const name = n.inputs[i] ?? '';
    if (name === '') return def;
    const t = v.constant(name);
    return t && t.dtype === 'float32' && numel(t.dims) === 1 ? valuesOf(t)[0] : undefined;
  };
  const lo = bound(1, 'min', -Infinity);
  const hi = bound(2, 'max', Infinity);
  return lo !== undefined && hi !== undefined && lo <= hi ? { node: n, lo, hi } : undefined;
}

/** The only consumer of `value` when it has exactly one and is not a graph output. */
export function soleConsumer(v: GraphView, value: string): Node | undefined {
  return v.singleUse(value) ? v.consumersOf(value)[0] : undefined;
}

/** Adds a new initializer named after `base` (made unique) and returns its name. */
export function addInitializer(g: Graph, base: string, dtype: DType, dims: number[], values: ArrayLike<number>): string {
  let name = base;
  for (let i = 1; g.initializers.has(name); i++) name = `${base}_${i}`;
  const t = makeTensor(dtype, dims);
  (typedView(t) as unknown as { set(a: ArrayLike<number>): void }).set(values);
  g.initializers.set(name, t);
  return name;
}

export function quantParamsOf(p: QDQParams): QuantParams {
  return {
    scale: p.scale,
    zeroPoint: Int32Array.from(p.zeroPoint),
    axis: p.axis,
    blockSize: 0,
    bits: 8,
    signed: p.type === 'int8',
    narrow: false,
  };
}

/**
 * Replaces the chain `absorbed` (in graph order; the last one's output is the result) by `node`,
 * placed where the last of them was: every input of the chain is defined before it and every
 * reader of the result comes after.
 */
export function replaceChain(g: Graph, absorbed: readonly Node[], node: Node): void {
  const last = absorbed[absorbed.length - 1];
  g.nodes[g.nodes.indexOf(last)] = node;
  for (const n of absorbed.slice(0, -1)) g.nodes.splice(g.nodes.indexOf(n), 1);
}

export function attrs(entries: Record<string, number>, floats: readonly string[] = []): Map<string, AttrValue> {
  return new Map(Object.entries(entries).map(([k, value]) => [k, floats.includes(k) ? { type: 'float', value } : { type: 'int', value }]));
}
