// Mutations of ONNX model bytes: raw byte damage, and protobuf-field-level edits on the decoded
// ModelProto (dims, data lengths, dtypes, inputs/initializers, cycles, opsets, attributes), re-encoded.

import Long from 'long';
import { onnx, type AttributeProto, type GraphProto, type TensorProto, type ValueInfoProto } from '../lib/onnx-proto.js';
import type { Rng } from './rng.js';

type Model = InstanceType<typeof onnx.ModelProto>;
type Mutation = (m: Model, g: GraphProto, r: Rng) => string | undefined;

/** Dimension values that break things: zero, negative, past 2^31 / 2^32 / 2^53, and near the original. */
function badDim(r: Rng, was: number): number | Long {
  switch (r.int(10)) {
    case 0: return 0;
    case 1: return -1;
    case 2: return -r.int(1000) - 2;
    case 3: return 2 ** 31;
    case 4: return 2 ** 32 + 1;
    case 5: return Long.fromString('9007199254740993');
    case 6: return Long.fromString('-9223372036854775808');
    case 7: return was * (1 + r.int(1000));
    case 8: return was + 1;
    default: return r.int(70000);
  }
}

const dimsOf = (t: { dims?: (number | Long)[] | null }) => (t.dims ??= []);
const n = (x: number | Long | null | undefined) => (typeof x === 'number' ? x : x ? x.toNumber() : 0);

function tensors(g: GraphProto): TensorProto[] {
  const out = [...(g.initializer ?? [])];
  for (const node of g.node ?? []) for (const a of node.attribute ?? []) if (a.t) out.push(a.t);
  return out;
}

function shapedValues(g: GraphProto): ValueInfoProto[] {
  return [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])].filter((v) => v.type?.tensorType);
}

function valueNames(g: GraphProto): string[] {
  const s = new Set<string>();
  for (const v of g.input ?? []) s.add(v.name ?? '');
  for (const t of g.initializer ?? []) s.add(t.name ?? '');
  for (const node of g.node ?? []) for (const o of node.output ?? []) s.add(o);
  return s.size ? [...s] : ['ghost'];
}

const DTYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 99, -1];
const OPS = ['Add', 'MatMul', 'Conv', 'Gemm', 'Reshape', 'Transpose', 'Concat', 'Gather', 'Slice', 'Split', 'Relu', 'Softmax',
  'QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul', 'MatMulInteger', 'ConvInteger', 'MaxPool', 'AveragePool',
  'GlobalAveragePool', 'BatchNormalization', 'Flatten', 'Expand', 'ConstantOfShape', 'Shape', 'Cast', 'Pad', 'ReduceMean',
  'Where', 'Squeeze', 'Unsqueeze', 'Tile', 'Resize', 'LayerNormalization', 'Quant', 'BipolarQuant', 'MatMulNBits', 'Sign', 'Range', 'Clip'];

const MUTATIONS: Record<string, Mutation> = {
  initDims(_m, g, r) {
    const t = r.pick(tensors(g));
    if (!t) return undefined;
    const d = dimsOf(t);
    if (d.length === 0 || r.chance(0.2)) d.push(badDim(r, 1));
    else { const k = r.int(d.length); d[k] = badDim(r, n(d[k])); }
    return `dims of tensor '${t.name}'`;
  },
  initRank(_m, g, r) {
    const t = r.pick(tensors(g));
    if (!t) return undefined;
    const d = dimsOf(t);
    if (d.length && r.chance(0.5)) d.pop(); else d.push(1);
    return `rank of tensor '${t.name}'`;
  },
  rawLength(_m, g, r) {
    const t = r.pick(tensors(g).filter((x) => x.rawData && x.rawData.length > 0));
    if (!t) return undefined;
    const raw = t.rawData!;
    const len = r.pick([0, 1, raw.length - 1, raw.length + 1, raw.length * 2, r.int(raw.length)]);
    const out = new Uint8Array(Math.max(0, len));
    out.set(raw.subarray(0, Math.min(raw.length, out.length)));
    t.rawData = out;
    return `raw_data of '${t.name}' to ${out.length} bytes`;
  },
  typedData(_m, g, r) {
    const t = r.pick(tensors(g));
    if (!t) return undefined;
    const k = r.int(4);
    const vals = Array.from({ length: r.int(5) }, () => r.pick([0, 1, -1, 1e30, NaN, 2 ** 31, 255]));
    if (k === 0) t.floatData = vals;
    else if (k === 1) t.int32Data = vals.map((v) => v | 0);
    else if (k === 2) t.int64Data = vals.map((v) => (Number.isFinite(v) ? Math.trunc(v) : 7));
    else t.doubleData = vals;
    if (r.chance(0.5)) t.rawData = new Uint8Array(0);
    return `typed data of '${t.name}'`;
  },
  initValues(_m, g, r) {
    // Same shape and type, new values: shape tensors, axes, pads, scales, zero points, weights.
    const t = r.pick(tensors(g).filter((x) => x.rawData && x.rawData.length > 0));
    if (!t) return undefined;
    const raw = (t.rawData = t.rawData!.slice());
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const w = ({ 1: 4, 6: 4, 7: 8, 11: 8, 12: 4, 13: 8, 10: 2, 16: 2, 5: 2, 4: 2 } as Record<number, number>)[t.dataType ?? 0] ?? 1;
    const slots = Math.floor(raw.length / w); // an earlier mutation may have left a ragged length
    if (slots === 0) return undefined;
    const count = 1 + r.int(Math.min(4, slots));
    for (let k = 0; k < count; k++) {
      const at = r.int(slots) * w;
      if (t.dataType === 1) dv.setFloat32(at, r.pick([NaN, Infinity, -Infinity, 0, -0, -1, 1e-45, 3e38, 2, -0.5]), true);
      else if (t.dataType === 7) dv.setBigInt64(at, BigInt(r.pick([-1, 0, 1, 2, -2, 3, 2 ** 31, -(2 ** 31), 2 ** 40])) * (r.chance(0.1) ? 2n ** 20n : 1n), true);
      else if (t.dataType === 6) dv.setInt32(at, r.pick([-1, 0, 1, 2, -2, 2 ** 31 - 1, -(2 ** 31)]), true);
      else for (let b = 0; b < w; b++) raw[at + b] = r.pick([0, 0xff, 0x80, 0x7f, 1, r.int(256)]);
    }
    return `values of '${t.name}'`;
  },
  attrValue(_m, g, r) {
    // Same attribute type, a new value: axes, strides, pads, group, block sizes, bit widths...
    const node = r.pick((g.node ?? []).filter((x) => x.attribute?.length));
    if (!node) return undefined;
    const a = r.pick(node.attribute!) as AttributeProto;
    const small = () => r.pick([-3, -2, -1, 0, 1, 2, 3, 4, 7, 8, 16, 33, 1000, 2 ** 31 - 1]);
    if (a.ints?.length) {
      if (r.chance(0.3)) a.ints.push(small()); else if (r.chance(0.3)) a.ints.pop(); else a.ints[r.int(a.ints.length)] = small();
    } else if (a.floats?.length) a.floats[r.int(a.floats.length)] = r.pick([NaN, 0, -1, 1e30]);
    else if (a.type === 1) a.f = r.pick([NaN, Infinity, 0, -1, 1e-30, 1e30]);
    else if (a.type === 3) a.s = new TextEncoder().encode(r.pick(['', 'NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID', 'ROUND', 'FLOOR', 'CEIL', 'nearest', 'linear', 'x']));
    else a.i = small();
    return `value of attribute '${a.name}' of '${node.name}'`;
  },
  initDtype(_m, g, r) {
    const t = r.pick(tensors(g));
    if (!t) return undefined;
    t.dataType = r.pick(DTYPES);
    return `data_type of '${t.name}' = ${t.dataType}`;
  },
  valueDtype(_m, g, r) {
    const v = r.pick(shapedValues(g));
    if (!v) return undefined;
    v.type!.tensorType!.elemType = r.pick(DTYPES);
    return `elem_type of '${v.name}'`;
  },
  valueShape(_m, g, r) {
    const v = r.pick(shapedValues(g));
    const shape = v?.type?.tensorType?.shape;
    if (!v || !shape) return undefined;
    const dims = (shape.dim ??= []);
    const k = r.int(4);
    if (k === 0 || dims.length === 0) dims.push({ dimValue: badDim(r, 1) });
    else if (k === 1) dims.pop();
    else if (k === 2) dims[r.int(dims.length)] = { dimParam: r.pick(['N', 'M', '']) };
    else { const i = r.int(dims.length); dims[i] = { dimValue: badDim(r, n(dims[i].dimValue)) }; }
    return `shape of '${v.name}'`;
  },
  dropInput(_m, g, r) {
    if (!g.input?.length) return undefined;
    const [v] = g.input.splice(r.int(g.input.length), 1);
    return `removed graph input '${v.name}'`;
  },
  dupInput(_m, g, r) {
    if (!g.input?.length) return undefined;
    const v = r.pick(g.input);
    g.input.push(onnx.ValueInfoProto.fromObject(onnx.ValueInfoProto.toObject(onnx.ValueInfoProto.fromObject(v))));
    return `duplicated graph input '${v.name}'`;
  },
  dropInit(_m, g, r) {
    if (!g.initializer?.length) return undefined;
    const [t] = g.initializer.splice(r.int(g.initializer.length), 1);
    return `removed initializer '${t.name}'`;
  },
  dupInit(_m, g, r) {
    if (!g.initializer?.length) return undefined;
    const t = r.pick(g.initializer);
    const c = onnx.TensorProto.fromObject(onnx.TensorProto.toObject(onnx.TensorProto.fromObject(t)));
    if (r.chance(0.5)) c.name = r.pick(valueNames(g)); // shadow a graph input or node output
    g.initializer.push(c);
    return `duplicated initializer '${t.name}' as '${c.name}'`;
  },
  nodeInputs(_m, g, r) {
    const node = r.pick(g.node ?? []);
    if (!node) return undefined;
    const ins = (node.input ??= []);
    const k = r.int(5);
    if (k === 0 && ins.length) ins.splice(r.int(ins.length), 1);
    else if (k === 1) ins.push(r.chance(0.3) ? '' : r.pick(valueNames(g)));
    else if (k === 2 && ins.length) ins[r.int(ins.length)] = r.pick(valueNames(g));
    else if (k === 3 && ins.length) ins[r.int(ins.length)] = '';
    else ins.push('ghost');
    return `inputs of node '${node.name}' (${node.opType})`;
  },
  nodeOutputs(_m, g, r) {
    const node = r.pick(g.node ?? []);
    if (!node) return undefined;
    const outs = (node.output ??= []);
    if (r.chance(0.5) && outs.length) outs.pop(); else outs.push(r.chance(0.5) ? r.pick(valueNames(g)) : `extra${r.int(9)}`);
    return `outputs of node '${node.name}'`;
  },
  cycle(_m, g, r) {
    const nodes = g.node ?? [];
    if (nodes.length === 0) return undefined;
    const a = r.pick(nodes);
    const b = nodes[nodes.length - 1];
    const out = b.output?.[0];
    if (!out) return undefined;
    (a.input ??= []).push(out);
    return `cycle: '${a.name}' reads '${out}'`;
  },
  dupNode(_m, g, r) {
    const node = r.pick(g.node ?? []);
    if (!node) return undefined;
    g.node!.splice(r.int(g.node!.length), 0, onnx.NodeProto.fromObject(onnx.NodeProto.toObject(onnx.NodeProto.fromObject(node))));
    return `duplicated node '${node.name}'`;
  },
  dropNode(_m, g, r) {
    if (!g.node?.length) return undefined;
    const [node] = g.node.splice(r.int(g.node.length), 1);
    return `removed node '${node.name}'`;
  },
  opType(_m, g, r) {
    const node = r.pick(g.node ?? []);
    if (!node) return undefined;
    node.opType = r.pick(OPS);
    if (node.opType === 'Quant' || node.opType === 'BipolarQuant') node.domain = 'qonnx.custom_op.general';
    if (node.opType === 'MatMulNBits') node.domain = 'com.microsoft';
    return `op of node '${node.name}' = ${node.opType}`;
  },
  domain(_m, g, r) {
    const node = r.pick(g.node ?? []);
    if (!node) return undefined;
    node.domain = r.pick(['', 'ai.onnx', 'com.microsoft', 'qonnx.custom_op.general', 'x.y', 'ai.onnx.ml']);
    return `domain of '${node.name}'`;
  },
  opset(m, _g, r) {
    const ops = (m.opsetImport ??= []);
    const k = r.int(4);
    if (k === 0 && ops.length) ops.splice(r.int(ops.length), 1);
    else if (k === 1) ops.push(onnx.OperatorSetIdProto.create({ domain: r.pick(['', 'com.microsoft', 'ai.onnx']), version: r.pick([0, 1, 99, -3]) }));
    else if (ops.length) r.pick(ops).version = r.pick([0, 1, 5, 7, 10, 13, 99, -1, Long.fromString('4294967297')]);
    else return undefined;
    return 'opset_import';
  },
  irVersion(m, _g, r) {
    m.irVersion = r.pick([0, 1, 2, 3, 99, -1]);
    return `ir_version ${m.irVersion}`;
  },
  attribute(_m, g, r) {
    const node = r.pick((g.node ?? []).filter((x) => x.attribute?.length));
    if (!node) return undefined;
    const a = r.pick(node.attribute!) as AttributeProto;
    mutateAttribute(a, r, g);
    return `attribute '${a.name}' of '${node.name}'`;
  },
  addAttribute(_m, g, r) {
    const node = r.pick(g.node ?? []);
    if (!node) return undefined;
    const name = r.pick(['axis', 'axes', 'perm', 'kernel_shape', 'strides', 'pads', 'dilations', 'group', 'block_size', 'bits', 'K', 'N',
      'transA', 'transB', 'auto_pad', 'mode', 'keepdims', 'to', 'value', 'saturate', 'signed', 'narrow', 'rounding_mode', 'epsilon']);
    const a: AttributeProto = { name, type: 2, i: 0 };
    mutateAttribute(a, r, g);
    (node.attribute ??= []).push(a);
    return `added attribute '${name}' to '${node.name}'`;
  },
  dropOutput(_m, g, r) {
    if (!g.output?.length) return undefined;
    if (r.chance(0.5)) g.output.splice(r.int(g.output.length), 1);
    else g.output.push(onnx.ValueInfoProto.create({ name: r.chance(0.5) ? r.pick(valueNames(g)) : 'nowhere' }));
    return 'graph outputs';
  },
  externalData(_m, g, r) {
    const t = r.pick(g.initializer ?? []);
    if (!t) return undefined;
    t.dataLocation = 1;
    t.externalData = [{ key: 'location', value: r.pick(['../../etc/passwd', '/etc/passwd', 'w.bin', '', '/dev/zero']) }];
    if (r.chance(0.5)) t.externalData.push({ key: 'length', value: r.pick(['-1', '1e99', 'x', '4']) });
    return `external data on '${t.name}'`;
  },
};

function mutateAttribute(a: AttributeProto, r: Rng, g: GraphProto): void {
  const k = r.int(7);
  if (k === 0) { a.type = 2; a.i = badDim(r, n(a.i)); a.ints = []; }
  else if (k === 1) { a.type = 7; a.ints = Array.from({ length: r.int(9) }, () => badDim(r, 1)); }
  else if (k === 2) { a.type = 1; a.f = r.pick([NaN, Infinity, -1, 0, 1e38]); }
  else if (k === 3) { a.type = 3; a.s = new TextEncoder().encode(r.pick(['', 'SAME_UPPER', 'VALID', 'xx', 'ROUND', 'linear'])); }
  else if (k === 4) { a.type = r.pick([0, 4, 5, 6, 8, 99]) as AttributeProto['type']; }
  else if (k === 5) { a.type = 4; a.t = r.pick(tensors(g)) ?? { dataType: 1, dims: [badDim(r, 1)] }; }
  else { a.type = 6; a.floats = Array.from({ length: r.int(5) }, () => r.pick([0, -1, 2.5, NaN])); }
}

// Value edits keep models valid deeper into planning and running: drawn three times as often.
const NAMES = [...Object.keys(MUTATIONS), 'initValues', 'initValues', 'attrValue', 'attrValue'];

/** Byte-level damage: bit flips, a truncation, a span of random bytes, or a copied span. */
function mutateBytes(b: Uint8Array, r: Rng): { bytes: Uint8Array; what: string } {
  if (b.length === 0) return { bytes: b, what: 'empty' };
  const k = r.int(4);
  if (k === 0) {
    const out = b.slice();
    const flips = 1 + r.int(8);
    for (let i = 0; i < flips; i++) out[r.int(out.length)] ^= 1 << r.int(8);
    return { bytes: out, what: `${flips} bit flips` };
  }
  if (k === 1) {
    const cut = r.int(b.length);
    return { bytes: b.slice(0, cut), what: `truncated to ${cut} bytes` };
  }
  if (k === 2) {
    const out = b.slice();
    const at = r.int(out.length);
    const len = 1 + r.int(16);
    for (let i = at; i < Math.min(out.length, at + len); i++) out[i] = r.pick([0, 0xff, 0x80, 0x7f, r.int(256)]);
    return { bytes: out, what: `${len} bytes overwritten at ${at}` };
  }
  const from = r.int(b.length);
  const len = 1 + r.int(Math.min(64, b.length - from));
  const at = r.int(b.length);
  const out = new Uint8Array(b.length + len);
  out.set(b.subarray(0, at));
  out.set(b.subarray(from, from + len), at);
  out.set(b.subarray(at), at + len);
  return { bytes: out, what: `${len} bytes copied from ${from} to ${at}` };
}

export interface Mutant {
  bytes: Uint8Array;
  what: string[];
}

/** One to three mutations of a seed model: mostly field-level, some raw byte damage. */
export function mutate(seed: Uint8Array, r: Rng): Mutant {
  const what: string[] = [];
  let bytes = seed;
  if (r.chance(0.85)) {
    const m = onnx.ModelProto.decode(seed);
    const g = (m.graph ??= onnx.GraphProto.create());
    const count = r.chance(0.6) ? 1 : r.chance(0.75) ? 2 : 3;
    for (let tries = 0; what.length < count && tries < 12; tries++) {
      const name = r.pick(NAMES);
      const did = MUTATIONS[name](m, g, r);
      if (did) what.push(`${name}: ${did}`);
    }
    try {
      bytes = onnx.ModelProto.encode(m).finish();
    } catch (e) {
      // A mutation left a field protobufjs cannot write: fall back to byte damage of the seed.
      what.length = 0;
      what.push(`(unencodable: ${(e as Error).message.slice(0, 60)})`);
    }
  }
  if (what.length === 0 || what[0].startsWith('(unencodable') || r.chance(0.05)) {
    const d = mutateBytes(bytes, r);
    bytes = d.bytes;
    what.push(d.what);
  }
  return { bytes, what };
}
