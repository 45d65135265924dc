// onnx-proto (protobufjs code for the whole ONNX schema), for scripts and tests that build or
// rewrite models. The runtime reads models with its own decoder (src/onnx/proto.ts).
import onnxPkg from 'onnx-proto';

export const onnx = onnxPkg.onnx;
export type ModelProto = onnxPkg.onnx.ModelProto;
export type GraphProto = onnxPkg.onnx.IGraphProto;
export type NodeProto = onnxPkg.onnx.INodeProto;
export type TensorProto = onnxPkg.onnx.ITensorProto;
export type AttributeProto = onnxPkg.onnx.IAttributeProto;
export type ValueInfoProto = onnxPkg.onnx.IValueInfoProto;

/** A protobuf int64 (number or Long) as a JS number. */
export function num(x: unknown): number {
  if (typeof x === 'number') return x;
  if (x && typeof x === 'object' && 'toNumber' in x) return (x as { toNumber(): number }).toNumber();
  if (typeof x === 'bigint') return Number(x);
  return Number(x ?? 0);
}

/** A protobuf int64 as an exact bigint (two's complement). */
export function big(x: unknown, unsigned = false): bigint {
  if (typeof x === 'number') return BigInt(x);
  if (x && typeof x === 'object' && 'low' in x && 'high' in x) {
    const l = x as { low: number; high: number };
    const v = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
    return unsigned ? BigInt.asUintN(64, v) : BigInt.asIntN(64, v);
  }
  return BigInt(x as string);
}
