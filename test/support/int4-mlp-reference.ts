// An independent float64 evaluation of the 4-bit Fashion-MNIST MLPs (models/fmnist-mlp-int4-*.onnx)
// and helpers that read quantization parameters out of a model, straight from the protobuf.
//
// It interprets only the node types those models contain — Constant, Sub, Div, Flatten, MatMul,
// Add, Relu, DequantizeLinear (UINT4/INT4, blocked along axis 0) and com.microsoft MatMulNBits —
// with every tensor as a row-major [rows, cols] matrix (scalars are 1×1 and broadcast). Weights are
// dequantized exactly; products and sums are in float64, so the result is the exact math the
// quantized model describes, up to float64 rounding.

import { onnx, num, type NodeProto, type TensorProto } from '../../scripts/lib/onnx-proto.js';

interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const UINT4 = 21;
const INT4 = 22;

function rawBytes(t: TensorProto): Uint8Array {
  if (!t.rawData?.length) throw new Error(`reference: initializer ${t.name} has no raw_data`);
  return t.rawData;
}

/** Element values of a tensor as float64 (sub-byte types unpacked, element 0 in the low nibble). */
function values(t: TensorProto): Float64Array {
  const n = (t.dims ?? []).reduce((p: number, d) => p * num(d), 1);
  if (t.dataType === FLOAT) {
    if (t.floatData?.length) return Float64Array.from(t.floatData);
    const b = rawBytes(t);
    return Float64Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + 4 * n)));
  }
  const b = rawBytes(t);
  if (t.dataType === UINT8) return Float64Array.from(b.subarray(0, n));
  if (t.dataType === INT8) return Float64Array.from(new Int8Array(b.buffer, b.byteOffset, n));
  if (t.dataType === UINT4 || t.dataType === INT4) {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const nib = (b[i >> 1] >> ((i & 1) * 4)) & 15;
      out[i] = t.dataType === INT4 && nib > 7 ? nib - 16 : nib;
    }
    return out;
  }
  throw new Error(`reference: initializer ${t.name} has data type ${t.dataType}`);
}

function asMat(t: TensorProto): Mat {
  const dims = (t.dims ?? []).map(num);
  const data = values(t);
  const cols = dims.length ? dims[dims.length - 1] : 1;
  return { rows: data.length / cols, cols, data };
}

function attrs(n: NodeProto): Record<string, number | TensorProto> {
  const out: Record<string, number | TensorProto> = {};
  for (const a of n.attribute ?? []) out[a.name!] = a.t ?? num(a.i);
  return out;
}

function broadcast(a: Mat, b: Mat, f: (x: number, y: number) => number): Mat {
  const rows = Math.max(a.rows, b.rows);
  const cols = Math.max(a.cols, b.cols);
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) data[r * cols + c] = f(a.data[(a.rows === 1 ? 0 : r) * a.cols + (a.cols === 1 ? 0 : c)], b.data[(b.rows === 1 ? 0 : r) * b.cols + (b.cols === 1 ? 0 : c)]);
  }
  return { rows, cols, data };
}

/** A·B for A [m, k] and B [k, n]. */
function matmul(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) throw new Error(`reference: MatMul ${a.rows}×${a.cols} by ${b.rows}×${b.cols}`);
  const out = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const x = a.data[i * a.cols + k];
      for (let j = 0; j < b.cols; j++) out[i * b.cols + j] += x * b.data[k * b.cols + j];
    }
  }
  return { rows: a.rows, cols: b.cols, data: out };
}

/** DequantizeLinear blocked along axis 0: W[k, n] = (q[k, n] − zp[k/bs, n]) · scale[k/bs, n]. */
function dequantizeBlocked(q: Mat, scale: Mat, zp: Mat | undefined, blockSize: number): Mat {
  const data = new Float64Array(q.rows * q.cols);
  for (let k = 0; k < q.rows; k++) {
    const blk = Math.floor(k / blockSize) * q.cols;
    for (let n = 0; n < q.cols; n++) data[k * q.cols + n] = (q.data[k * q.cols + n] - (zp ? zp.data[blk + n] : 0)) * scale.data[blk + n];
  }
  return { rows: q.rows, cols: q.cols, data };
}

/** MatMulNBits (bits 4): Y = A · Wᵀ with W[n, k] = (q[n, k] − zp[n, k/bs]) · scale[n, k/bs]. */
function matmulNBits(a: Mat, packed: TensorProto, scales: TensorProto, zps: TensorProto | undefined, at: Record<string, number | TensorProto>): Mat {
  const [K, N, bits, bs] = [at.K, at.N, at.bits, at.block_size] as number[];
  if (bits !== 4) throw new Error(`reference: MatMulNBits bits=${bits}`);
  const kBlocks = Math.ceil(K / bs);
  const q = rawBytes(packed);
  const s = values(scales);
  const z = zps ? rawBytes(zps) : undefined;
  const zpRow = Math.ceil(kBlocks / 2);
  const w = new Float64Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const blk = Math.floor(k / bs);
      const byte = n * kBlocks * (bs / 2) + blk * (bs / 2) + ((k % bs) >> 1);
      const nib = (q[byte] >> ((k & 1) * 4)) & 15;
      const zp = z ? (z[n * zpRow + (blk >> 1)] >> ((blk & 1) * 4)) & 15 : 8;
      w[k * N + n] = (nib - zp) * s[n * kBlocks + blk];
    }
  }
  return matmul(a, { rows: K, cols: N, data: w });
}

/** Runs the model on `input` (rows = images, flattened) and returns its first output, float64. */
export function int4MlpReference(model: Uint8Array, input: Float32Array, rows: number): Float64Array {
  const g = onnx.ModelProto.decode(model).graph!;
  const inits = new Map((g.initializer ?? []).map((t) => [t.name!, t]));
  const env = new Map<string, Mat>([[g.input![0].name!, { rows, cols: input.length / rows, data: Float64Array.from(input) }]]);
  const get = (name: string): Mat => {
    const v = env.get(name) ?? (inits.has(name) ? asMat(inits.get(name)!) : undefined);
    if (!v) throw new Error(`reference: no value ${name}`);
    return v;
  };
  for (const n of g.node ?? []) {
    const i = n.input ?? [];
    const at = attrs(n);
    let y: Mat;
    switch (n.opType) {
      case 'Constant': y = asMat(at.value as TensorProto); break;
      case 'Sub': y = broadcast(get(i[0]), get(i[1]), (p, q) => p - q); break;
      case 'Div': y = broadcast(get(i[0]), get(i[1]), (p, q) => p / q); break;
      case 'Add': y = broadcast(get(i[0]), get(i[1]), (p, q) => p + q); break;
      case 'Relu': { const x = get(i[0]); y = { ...x, data: x.data.map((v) => Math.max(0, v)) }; break; }
      case 'Flatten': { const x = get(i[0]); y = { rows, cols: x.data.length / rows, data: x.data }; break; }
      case 'MatMul': y = matmul(get(i[0]), get(i[1])); break;
      case 'DequantizeLinear':
        if (at.axis !== 0 || !at.block_size) throw new Error('reference: only DequantizeLinear blocked on axis 0');
        y = dequantizeBlocked(get(i[0]), get(i[1]), i[2] ? get(i[2]) : undefined, at.block_size as number);
        break;
      case 'MatMulNBits': y = matmulNBits(get(i[0]), inits.get(i[1])!, inits.get(i[2])!, i[3] ? inits.get(i[3]) : undefined, at); break;
      default: throw new Error(`reference: node type ${n.opType} not interpreted`);
    }
    env.set(n.output![0], y);
  }
  return get(g.output![0].name!).data;
}

/** The scale of the DequantizeLinear that produces the model's first output (its quantum). */
export function outputQuantum(model: Uint8Array): number {
  const g = onnx.ModelProto.decode(model).graph!;
  const out = g.output![0].name;
  const dq = (g.node ?? []).find((n) => n.opType === 'DequantizeLinear' && n.output?.[0] === out);
  const scale = dq && (g.initializer ?? []).find((t) => t.name === dq.input![1]);
  if (!scale) throw new Error('outputQuantum: the first output is not produced by a DequantizeLinear with a constant scale');
  return values(scale)[0];
}
