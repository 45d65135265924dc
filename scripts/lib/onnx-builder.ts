// A small ONNX model builder for tests, benchmarks and model scripts.
//
//   const b = new OnnxBuilder({ opset: 21 });
//   const x = b.input('x', 'float32', [1, 784]);
//   const w = b.init('w', 'float32', [784, 10], weights);
//   b.output(b.op('MatMul', [x, w]), 'float32', [1, 10]);
//   const bytes = b.toBytes();

import { dtypeCode, type DType } from '../../src/ir/dtype.js';
import { onnx, type AttributeProto, type NodeProto, type TensorProto, type ValueInfoProto } from './onnx-proto.js';

export type AttrInput = number | string | number[] | string[] | Float32Array | { tensor: TensorSpec } | { floats: number[] } | { ints: number[] };

export interface TensorSpec {
  dtype: DType;
  dims: readonly number[];
  /** Little-endian element bytes (sub-byte types packed), or a typed array of the element type. */
  data: Uint8Array | ArrayBufferView | readonly number[];
}

type Dim = number | string;

function tensorProto(name: string, t: TensorSpec): TensorProto {
  let raw: Uint8Array;
  if (Array.isArray(t.data)) {
    raw = numbersToBytes(t.dtype, t.data as readonly number[]);
  } else {
    const v = t.data as ArrayBufferView;
    raw = new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
  }
  return { name, dataType: dtypeCode(t.dtype), dims: [...t.dims], rawData: raw };
}

export function numbersToBytes(dtype: DType, vals: readonly number[]): Uint8Array {
  switch (dtype) {
    case 'float32': return new Uint8Array(Float32Array.from(vals).buffer);
    case 'float64': return new Uint8Array(Float64Array.from(vals).buffer);
    case 'int64': return new Uint8Array(BigInt64Array.from(vals.map((v) => BigInt(v))).buffer);
    case 'int32': return new Uint8Array(Int32Array.from(vals).buffer);
    case 'int8': return new Uint8Array(Int8Array.from(vals).buffer);
    case 'uint8': case 'bool': return Uint8Array.from(vals);
    case 'int16': return new Uint8Array(Int16Array.from(vals).buffer);
    case 'uint16': return new Uint8Array(Uint16Array.from(vals).buffer);
    case 'int4': case 'uint4': {
      const out = new Uint8Array(Math.ceil(vals.length / 2));
      vals.forEach((v, i) => (out[i >> 1] |= (v & 15) << ((i & 1) * 4)));
      return out;
    }
    case 'int2': case 'uint2': {
      const out = new Uint8Array(Math.ceil(vals.length / 4));
      vals.forEach((v, i) => (out[i >> 2] |= (v & 3) << ((i & 3) * 2)));
      return out;
    }
    default: throw new Error(`numbersToBytes: ${dtype} not supported`);
  }
}

function attrProto(name: string, v: AttrInput): AttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    return Number.isInteger(v) && !Object.is(v, -0) ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (v instanceof Float32Array) return { name, type: A.FLOATS, floats: [...v] };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return { name, type: A.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) };
    if ((v as number[]).every((x) => Number.isInteger(x))) return { name, type: A.INTS, ints: v as number[] };
    return { name, type: A.FLOATS, floats: v as number[] };
  }
  if ('floats' in v) return { name, type: A.FLOATS, floats: v.floats };
  if ('ints' in v) return { name, type: A.INTS, ints: v.ints };
  return { name, type: A.TENSOR, t: tensorProto('', v.tensor) };
}

function valueInfo(name: string, dtype: DType, dims: readonly Dim[] | null): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: dtypeCode(dtype),
        shape: dims === null ? undefined : { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface BuilderOptions {
  opset?: number;
  /** Extra domains: { 'com.microsoft': 1, 'qonnx.custom_op.general': 1 }. */
  domains?: Record<string, number>;
  irVersion?: number;
  name?: string;
}

export class OnnxBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly inits: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private n = 0;

  constructor(private readonly opts: BuilderOptions = {}) {}

  private fresh(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }

  input(name: string, dtype: DType, dims: readonly Dim[] | null): string {
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  output(name: string, dtype: DType, dims: readonly Dim[] | null): string {
    this.outputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  init(name: string, dtype: DType, dims: readonly number[], data: TensorSpec['data']): string {
    this.inits.push(tensorProto(name, { dtype, dims, data }));
    return name;
  }

  /** A constant initializer with a generated name. */
  const(dtype: DType, dims: readonly number[], data: TensorSpec['data']): string {
    return this.init(this.fresh('c'), dtype, dims, data);
  }

  /** Adds a node; returns its first output (or all of them with `outputs` > 1). */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrInput> = {}, opts: { domain?: string; name?: string; outputs?: number | string[] } = {}): string {
    return this.opMulti(opType, inputs, attrs, opts)[0];
  }

  opMulti(opType: string, inputs: readonly string[], attrs: Record<string, AttrInput> = {}, opts: { domain?: string; name?: string; outputs?: number | string[] } = {}): string[] {
    const name = opts.name ?? this.fresh(opType);
    const outs = Array.isArray(opts.outputs) ? opts.outputs : Array.from({ length: opts.outputs ?? 1 }, (_, i) => `${name}_out${i}`);
    this.nodes.push({
      name,
      opType,
      domain: opts.domain ?? '',
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attrProto(k, v)),
    });
    return outs;
  }

  toBytes(): Uint8Array {
    const opsetImport = [{ domain: '', version: this.opts.opset ?? 21 }];
    for (const [domain, version] of Object.entries(this.opts.domains ?? {})) opsetImport.push({ domain, version });
    const model = onnx.ModelProto.create({
      irVersion: this.opts.irVersion ?? 10,
      producerName: 'lowbit-builder',
      opsetImport,
      graph: {
        name: this.opts.name ?? 'g',
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
