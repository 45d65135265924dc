// ONNX ModelProto bytes → IR Graph.

import { fail, LowbitError } from '../errors.js';
import { dtypeFromCode } from '../ir/dtype.js';
import type { AttrValue, Dim, Graph, Node, ValueInfo } from '../ir/graph.js';
import { fromNumbers, type TensorData } from '../ir/tensor.js';
import { decodeModelProto, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type ValueInfoProto } from './proto.js';
import { decodeTensor, type ExternalDataReader } from './tensor.js';

export interface DecodeOptions {
  readExternal?: ExternalDataReader;
  /** Largest element count of one tensor (default MAX_ELEMENTS). */
  maxElements?: number;
}

export interface DecodedModel {
  graph: Graph;
  irVersion: number;
  producer: string;
}

const utf8 = new TextDecoder();

export function decodeModel(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedModel {
  const model: ModelProto = decodeModelProto(bytes);
  if (!model.graph) fail('LOWBIT_BAD_MODEL', 'ONNX model has no graph');
  // IR ≥ 3 requires an opset import (onnxruntime refuses such models too); guessing one would
  // also let a model truncated just before its trailing opset_import field run.
  if ((model.irVersion ?? 0) >= 3 && (model.opsetImport?.length ?? 0) === 0) {
    fail('LOWBIT_BAD_MODEL', `ONNX model (IR version ${(model.irVersion ?? 0)}) has no opset_import; it may be truncated`);
  }
  const opsets = new Map<string, number>();
  for (const o of model.opsetImport ?? []) {
    const dom = normDomain(o.domain ?? '');
    opsets.set(dom, o.version ?? 0);
  }
  if (!opsets.has('')) opsets.set('', 1);
  try {
    const graph = decodeGraph(model.graph, opsets, opts);
    return { graph, irVersion: (model.irVersion ?? 0), producer: model.producerName ?? '' };
  } catch (e) {
    if (e instanceof LowbitError) throw e;
    fail('LOWBIT_BAD_MODEL', `malformed ONNX model: ${(e as Error).message}`, e);
  }
}

export function normDomain(d: string): string {
  return d === 'ai.onnx' ? '' : d;
}

function decodeGraph(g: GraphProto, opsets: Map<string, number>, opts: DecodeOptions): Graph {
  const initializers = new Map<string, TensorData>();
  for (const t of g.initializer ?? []) {
    const name = t.name ?? '';
    if (initializers.has(name)) fail('LOWBIT_BAD_MODEL', `initializer '${name}' is defined twice`);
    initializers.set(name, decodeTensor(t, `initializer '${name}'`, opts.readExternal, opts.maxElements));
  }
  if ((g.sparseInitializer ?? []).length > 0) fail('LOWBIT_UNSUPPORTED', 'sparse initializers are not supported');

  const nodes: Node[] = [];
  for (const [i, np] of (g.node ?? []).entries()) {
    const node = decodeNode(np, i, opts);
    if (node.opType === 'Constant' && node.domain === '') {
      const value = constantValue(node);
      if (initializers.has(node.outputs[0])) fail('LOWBIT_BAD_MODEL', `Constant output '${node.outputs[0]}' shadows an initializer`);
      initializers.set(node.outputs[0], value);
      continue;
    }
    nodes.push(node);
  }
  const valueInfo = new Map<string, ValueInfo>();
  for (const vi of g.valueInfo ?? []) {
    const v = decodeValueInfo(vi, false);
    if (v) valueInfo.set(v.name, v);
  }
  const inputs: ValueInfo[] = [];
  for (const vi of g.input ?? []) {
    if (initializers.has(vi.name ?? '')) continue; // an initializer listed as input (IR < 4): a constant
    const v = decodeValueInfo(vi, true)!;
    if (inputs.some((u) => u.name === v.name)) fail('LOWBIT_BAD_MODEL', `graph input '${v.name}' is declared twice`);
    inputs.push(v);
  }
  const outputs = (g.output ?? []).map((vi) => decodeValueInfo(vi, true)!);
  return { name: g.name ?? '', nodes, inputs, outputs, initializers, valueInfo, quant: new Map(), opsets };
}

function decodeValueInfo(vi: ValueInfoProto, required: boolean): ValueInfo | undefined {
  const name = vi.name ?? '';
  const tt = vi.type?.tensorType;
  if (!tt) {
    if (required) fail('LOWBIT_UNSUPPORTED', `graph input/output '${name}' is not a tensor (sequences, maps and optionals are not supported)`);
    return undefined;
  }
  const dtype = dtypeFromCode(tt.elemType ?? 0);
  if (!dtype) {
    if (required) fail('LOWBIT_BAD_MODEL', `graph input/output '${name}' has unknown element type ${tt.elemType}`);
    return undefined;
  }
  let shape: Dim[] | null = null;
  if (tt.shape) {
    shape = (tt.shape.dim ?? []).map((d): Dim => {
      if (d.dimParam) return d.dimParam;
      if (d.dimValue !== undefined) {
        const v = d.dimValue;
        if (!Number.isSafeInteger(v) || v < 0) fail('LOWBIT_BAD_MODEL', `'${name}' has invalid dimension ${v}`);
        return v;
      }
      return null;
    });
  }
  return { name, dtype, shape };
}

function decodeNode(np: NodeProto, index: number, opts: DecodeOptions): Node {
  const opType = np.opType ?? '';
  if (!opType) fail('LOWBIT_BAD_MODEL', `node #${index} has no op_type`);
  const attrs = new Map<string, AttrValue>();
  for (const a of np.attribute ?? []) {
    attrs.set(a.name ?? '', decodeAttr(a, `${opType} node '${np.name ?? index}' attribute '${a.name}'`, opts));
  }
  return {
    name: np.name || `${opType}_${index}`,
    opType,
    domain: normDomain(np.domain ?? ''),
    inputs: [...(np.input ?? [])],
    outputs: [...(np.output ?? [])],
    attrs,
  };
}

function decodeAttr(a: AttributeProto, what: string, opts: DecodeOptions): AttrValue {
  let type = a.type ?? 0;
  if (type === 0) {
    // Pre-IR-3 models leave `type` unset; infer it from the populated field.
    if (a.floats?.length) type = 6;
    else if (a.ints?.length) type = 7;
    else if (a.strings?.length) type = 8;
    else if (a.t) type = 4;
    else if (a.s?.length) type = 3;
    else if (a.i !== undefined && a.i !== 0) type = 2;
    else type = 1;
  }
  switch (type) {
    case 1: return { type: 'float', value: a.f ?? 0 };
    case 2: return { type: 'int', value: a.i ?? 0 };
    case 3: return { type: 'string', value: utf8.decode(a.s ?? new Uint8Array()) };
    case 4: return { type: 'tensor', value: decodeTensor(a.t!, what, opts.readExternal, opts.maxElements) };
    case 6: return { type: 'floats', value: [...(a.floats ?? [])] };
    case 7: return { type: 'ints', value: [...(a.ints ?? [])] };
    case 8: return { type: 'strings', value: (a.strings ?? []).map((s) => utf8.decode(s)) };
    default: return { type: 'unsupported', value: `attribute type ${type}` };
  }
}

function constantValue(node: Node): TensorData {
  const [name, attr] = [...node.attrs.entries()][0] ?? [];
  if (node.attrs.size !== 1 || !attr) fail('LOWBIT_BAD_MODEL', `Constant node '${node.name}' needs exactly one value attribute`);
  switch (name) {
    case 'value': if (attr.type === 'tensor') return attr.value; break;
    case 'value_float': if (attr.type === 'float') return fromNumbers('float32', [], [attr.value]); break;
    case 'value_floats': if (attr.type === 'floats') return fromNumbers('float32', [attr.value.length], attr.value); break;
    case 'value_int': if (attr.type === 'int') return fromNumbers('int64', [], [attr.value]); break;
    case 'value_ints': if (attr.type === 'ints') return fromNumbers('int64', [attr.value.length], attr.value); break;
  }
  fail('LOWBIT_UNSUPPORTED', `Constant node '${node.name}': attribute '${name}' is not supported`);
}
