// Element types. Names follow onnxruntime's Tensor type strings; `code` is the ONNX
// TensorProto data_type number, which is also what kernels receive as their dtype argument.

export type DType =
  | 'float32' | 'float16' | 'bfloat16' | 'float64'
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'bool' | 'string'
  | 'int4' | 'uint4' | 'int2' | 'uint2'
  | 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz' | 'float8e8m0'
  | 'float4e2m1';

export type DTypeKind = 'float' | 'int' | 'uint' | 'bool' | 'string';

interface DTypeInfo {
  readonly code: number;
  readonly bits: number;
  readonly kind: DTypeKind;
}

const TABLE: Record<DType, DTypeInfo> = {
  float32: { code: 1, bits: 32, kind: 'float' },
  uint8: { code: 2, bits: 8, kind: 'uint' },
  int8: { code: 3, bits: 8, kind: 'int' },
  uint16: { code: 4, bits: 16, kind: 'uint' },
  int16: { code: 5, bits: 16, kind: 'int' },
  int32: { code: 6, bits: 32, kind: 'int' },
  int64: { code: 7, bits: 64, kind: 'int' },
  string: { code: 8, bits: 0, kind: 'string' },
  bool: { code: 9, bits: 8, kind: 'bool' },
  float16: { code: 10, bits: 16, kind: 'float' },
  float64: { code: 11, bits: 64, kind: 'float' },
  uint32: { code: 12, bits: 32, kind: 'uint' },
  uint64: { code: 13, bits: 64, kind: 'uint' },
  bfloat16: { code: 16, bits: 16, kind: 'float' },
  float8e4m3fn: { code: 17, bits: 8, kind: 'float' },
  float8e4m3fnuz: { code: 18, bits: 8, kind: 'float' },
  float8e5m2: { code: 19, bits: 8, kind: 'float' },
  float8e5m2fnuz: { code: 20, bits: 8, kind: 'float' },
  uint4: { code: 21, bits: 4, kind: 'uint' },
  int4: { code: 22, bits: 4, kind: 'int' },
  float4e2m1: { code: 23, bits: 4, kind: 'float' },
  float8e8m0: { code: 24, bits: 8, kind: 'float' },
  uint2: { code: 25, bits: 2, kind: 'uint' },
  int2: { code: 26, bits: 2, kind: 'int' },
};

const BY_CODE = new Map<number, DType>(
  (Object.keys(TABLE) as DType[]).map((d) => [TABLE[d].code, d]),
);

export function dtypeFromCode(code: number): DType | undefined {
  return BY_CODE.get(code);
}

export function dtypeCode(dt: DType): number {
  return TABLE[dt].code;
}

export function dtypeBits(dt: DType): number {
  return TABLE[dt].bits;
}

export function dtypeKind(dt: DType): DTypeKind {
  return TABLE[dt].kind;
}

export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(TABLE, s);
}

/** Bytes needed for n elements; sub-byte types are packed (INT4: two per byte, low nibble first). */
export function byteLength(dt: DType, n: number): number {
  return Math.ceil((n * TABLE[dt].bits) / 8);
}

/** True for types a kernel can address element by element (whole bytes). */
export function isByteAddressable(dt: DType): boolean {
  return TABLE[dt].bits >= 8;
}

export function isFloat(dt: DType): boolean {
  return TABLE[dt].kind === 'float';
}

export function isInteger(dt: DType): boolean {
  const k = TABLE[dt].kind;
  return k === 'int' || k === 'uint';
}

export const ALL_DTYPES = Object.keys(TABLE) as DType[];
